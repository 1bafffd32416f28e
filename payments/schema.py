"""The `payments` schema: tables of statements, payouts, their lineage and their append-only events.

Created idempotently by every entry point (`ensure_schema`). The constraints are part of exactly-once: a source
amount (statement, adjustment, returned payout, remainder) can belong to one payout only (`payout_items`
primary key), a merchant gets at most one payout per municipality and planning date, a payout enters each state
at most once (`payout_events` unique (payout_id, to_state)), and a batch is one per municipality and transfer
date. docs/payments.md describes each table.
"""

from __future__ import annotations

import duckdb

DDL = (
    "create schema if not exists payments",
    # one row per (municipality, merchant, settlement period): what was payable when the period was frozen
    """create table if not exists payments.statements (
        statement_id varchar primary key,
        municipality_code varchar not null,
        merchant_id varchar not null,
        settlement_cycle varchar,
        period_start_date date not null,
        period_end_date date not null,
        amount_yen bigint not null,
        use_amount_yen bigint not null,
        cancel_amount_yen bigint not null,
        settlement_item_ids varchar not null,
        frozen_on date not null,
        frozen_at timestamp not null,
        unique (municipality_code, merchant_id, period_start_date, period_end_date)
    )""",
    # a later change of a frozen period: recomputed payable minus (frozen + earlier adjustments)
    """create table if not exists payments.adjustments (
        adjustment_id varchar primary key,
        statement_id varchar not null,
        seq integer not null,
        municipality_code varchar not null,
        merchant_id varchar not null,
        period_start_date date not null,
        period_end_date date not null,
        amount_yen bigint not null,
        recomputed_amount_yen bigint not null,
        found_on date not null,
        found_at timestamp not null,
        unique (statement_id, seq)
    )""",
    # what a payee-borne fee left over when no transfer amount fits the fee band exactly (docs/payments.md)
    """create table if not exists payments.remainders (
        remainder_id varchar primary key,
        payout_id varchar not null unique,
        municipality_code varchar not null,
        merchant_id varchar not null,
        amount_yen bigint not null,
        created_on date not null
    )""",
    """create table if not exists payments.batches (
        batch_id varchar primary key,
        municipality_code varchar not null,
        business_date date not null,
        transfer_date date not null,
        client_code varchar not null,
        client_name_kana varchar not null,
        payer_bank_code varchar not null,
        payer_branch_code varchar not null,
        payer_account_type integer not null,
        payer_account_number varchar not null,
        payout_count bigint not null,
        total_transfer_yen bigint not null,
        total_fee_yen bigint not null,
        planned_at timestamp not null,
        file_path varchar,
        file_sha256 varchar,
        prepared_by varchar,
        approved_by varchar,
        exported_at timestamp,
        unique (municipality_code, transfer_date)
    )""",
    """create table if not exists payments.payouts (
        payout_id varchar primary key,
        batch_id varchar not null,
        municipality_code varchar not null,
        merchant_id varchar not null,
        business_date date not null,
        transfer_date date not null,
        bank_code varchar not null,
        branch_code varchar not null,
        account_type integer not null,
        account_number varchar not null,
        holder_kana varchar not null,
        relation varchar not null,
        amount_yen bigint not null,
        fee_yen bigint not null,
        fee_bearer varchar not null,
        transfer_yen bigint not null,
        requeue_of varchar,
        state varchar not null,
        unique (municipality_code, merchant_id, business_date),
        check (amount_yen > 0 and transfer_yen > 0 and fee_yen >= 0),
        check (state in ('pending', 'batched', 'issued', 'confirmed', 'returned', 'requeued'))
    )""",
    # which source amounts make each payout; a source belongs to one payout only, for ever
    """create table if not exists payments.payout_items (
        source_id varchar primary key,
        payout_id varchar not null,
        source_kind varchar not null,
        amount_yen bigint not null,
        check (source_kind in ('statement', 'adjustment', 'returned_payout', 'remainder'))
    )""",
    """create table if not exists payments.payout_events (
        event_id varchar primary key,
        payout_id varchar not null,
        from_state varchar,
        to_state varchar not null,
        "at" timestamp not null,
        actor varchar not null,
        detail varchar not null,
        unique (payout_id, to_state)
    )""",
    # what the bank statement said about each issued batch and payout (confirm_from_bank)
    """create table if not exists payments.bank_checks (
        check_id varchar primary key,
        run_date date not null,
        batch_id varchar,
        payout_id varchar,
        check_code varchar not null,
        expected_yen bigint,
        actual_yen bigint,
        file_sha256 varchar,
        line_number bigint,
        detail varchar not null
    )""",
)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    for statement in DDL:
        con.execute(statement)
