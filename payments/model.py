"""The shapes that pass between payout planning (payments.ledger side) and the payment file (payments.files side).

A `Payout` is one transfer to one merchant account for one municipality on one transfer date: the net of the
merchant's payable settlement amounts (frozen statements, carried adjustments and negatives), minus the transfer
fee when the municipality's fee bearer is `payee`. A `PaymentBatch` is what one Zengin 総合振込 file carries: one
municipality paying account and one transfer date, its payouts in `payout_id` order.

Tables (schema `payments`, owned by the planning side; the file side reads and appends events):
- `payments.statements`       one row per (municipality, merchant, settlement period): frozen, never rewritten.
- `payments.payouts`          one row per payout: the fields of `Payout` plus `batch_id`, `state`.
- `payments.payout_items`     which statements/adjustments/carried amounts make each payout (lineage to items).
- `payments.payout_events`    append-only: payout_id, from_state, to_state, at, actor, detail.
  States: pending → batched → issued → confirmed, or issued → returned → re-queued (pending in a later batch).
- `payments.batches`          one row per batch: the fields of `PaymentBatch` (without payouts), file path,
  file_sha256, prepared_by, approved_by, exported_at.

Integer yen everywhere. A payout id is text the bank echoes in EDI情報 and a 振込不能 return: ASCII upper-case
letters, digits and '-', at most 20 characters, never 12 digits (FORMATS.md "What seisan sends out").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class PayeeAccount:
    """Where a merchant is paid (the merchants master in force): Zengin bank and branch codes, 預金種目
    (1 普通, 2 当座, 4 貯蓄, 9 その他), account number (up to 7 digits) and the holder's name in Zengin kana."""

    bank_code: str
    branch_code: str
    account_type: int
    account_number: str
    holder_kana: str


@dataclass(frozen=True, slots=True)
class Payout:
    """One transfer. `amount_yen` is what the merchant is owed for this payout; `fee_yen` the transfer fee from
    the fee schedule; `transfer_yen` what the file carries (amount − fee when the fee bearer is `payee`, else
    amount); `fee_bearer` is `payer` or `payee`."""

    payout_id: str
    municipality_code: str
    merchant_id: str
    transfer_date: dt.date
    payee: PayeeAccount
    amount_yen: int
    fee_yen: int
    fee_bearer: str
    transfer_yen: int


@dataclass(frozen=True, slots=True)
class PayerAccount:
    """The municipality's paying account and 委託者 identity (municipalities master): header of the file."""

    client_code: str
    client_name_kana: str
    bank_code: str
    branch_code: str
    account_type: int
    account_number: str


@dataclass(frozen=True, slots=True)
class PaymentBatch:
    """One payment file: one municipality paying account, one transfer date (a bank business day), its payouts
    ordered by payout_id. `batch_id` is stable for the same content (a rerun plans the same batch)."""

    batch_id: str
    municipality_code: str
    business_date: dt.date
    transfer_date: dt.date
    payer: PayerAccount
    payouts: tuple[Payout, ...] = field(default_factory=tuple)

    @property
    def total_transfer_yen(self) -> int:
        return sum(p.transfer_yen for p in self.payouts)
