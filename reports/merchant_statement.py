"""The merchant settlement statement (精算明細書): one PDF per payout, telling a merchant what it is paid for.

`statement_figures(con, payout_id)` reads the payments tables (payouts, payout_items, statements, adjustments,
remainders) and the marts (fct_settlement_items for counts and held items, dim_merchants / dim_municipalities for
names) with set-based SQL and returns a `MerchantStatement` of integer-yen figures; `render_statement_pdf` draws
it; `write_statements` writes `<out>/<D>/statements/<payout_id>.pdf` (D = the payout's planning date, the
business date of its payment file), atomically and byte-stable.

The lines of a statement add up, and this module refuses to print one that does not:

    items (uses − cancels of the periods frozen into this payout, held ones included)
  + adjustments (later changes of periods frozen earlier)
  + carried in (remainders of earlier payouts, a returned payout paid again)
  − held (items of those periods not payable: undesignated, inactive or unknown merchant)
  − carried out (the few yen a payee-borne fee left for the next payout)
  − fee (only when the merchant bears it, 先方負担)
  = transferred (the amount in the bank file, whose EDI情報 is the payout id)

A statement never shows a full account number (only its last digits), a My Number or a MyKey ID: it is about a
merchant, and no resident-level column is read. This module must never import seisan or payments (it reads
their tables, docs/payments.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from contracts.banks import bank_name_kana, branch_name_kana
from contracts.codes import mask_my_numbers
from reports.officer_csv import write_atomically
from reports.typeset import era_date, yen

STATEMENTS_FOLDER = "statements"
ACCOUNT_TYPES = {1: "普通", 2: "当座", 4: "貯蓄", 9: "その他"}
FEE_BEARERS = {"payee": "加盟店負担 (先方負担: 振込額から差し引き)", "payer": "自治体負担 (当方負担: 差し引きなし)"}
PAYOUTS_PER_DAY_MAX = 100_000  # a limit on what one command writes; crossing it is a clear error


class StatementError(ValueError):
    """A statement cannot be made (unknown payout) or does not add up (a defect upstream)."""


@dataclass(frozen=True, slots=True)
class StatementPeriod:
    """One settlement period frozen into the payout: its dates, the uses and cancels of its payable items (frozen
    yen, counts as the marts hold them), and what of the period is held (not payable, not paid)."""

    period_start_date: dt.date
    period_end_date: dt.date
    use_count: int
    use_yen: int
    cancel_count: int
    cancel_yen: int
    held_yen: int
    payable_yen: int          # the frozen statement amount = use_yen − cancel_yen of the payable part


@dataclass(frozen=True, slots=True)
class StatementAdjustment:
    """A later change of a period frozen earlier (payments.adjustments), carried into this payout."""

    period_start_date: dt.date
    period_end_date: dt.date
    seq: int
    amount_yen: int
    found_on: dt.date


@dataclass(frozen=True, slots=True)
class MerchantStatement:
    """Every figure of one statement, integer yen.

    payout_id: as in the bank file's EDI情報; state: payments.payouts.state; repaid_by_payout_id: the payout
    that paid this one again after the bank returned it (振込不能), if any; business_date: the planning date;
    transfer_date: 振込指定日. use_/cancel_ counts and yen: of all items of the periods, held ones included;
    items_yen = use_yen − cancel_yen; held_yen: the held part of items; adjustments_yen: later changes of earlier
    periods; carried_in_yen: remainders and returned payouts paid with this payout; carried_out_yen: this payout's
    remainder; fee_yen: the transfer fee, deducted (fee_deducted_yen) when fee_bearer is `payee`; amount_yen: what
    the payout settles (transfer + deducted fee); transfer_yen: what the bank credits. account_number_masked:
    the account number with all but its last digits replaced by `*`.
    """

    payout_id: str
    batch_id: str
    state: str
    repaid_by_payout_id: str | None
    municipality_code: str
    municipality_name: str
    merchant_id: str
    merchant_name: str
    business_date: dt.date
    transfer_date: dt.date
    bank_code: str
    branch_code: str
    account_type: int
    account_number_masked: str
    holder_kana: str
    periods: tuple[StatementPeriod, ...]
    adjustments: tuple[StatementAdjustment, ...]
    use_count: int
    use_yen: int
    cancel_count: int
    cancel_yen: int
    items_yen: int
    held_yen: int
    adjustments_yen: int
    carried_in_yen: int
    carried_out_yen: int
    fee_bearer: str
    fee_yen: int
    fee_deducted_yen: int
    amount_yen: int
    transfer_yen: int


def mask_account_number(account_number: str) -> str:
    """`****567`: the last 3 digits of an account number of 6 or more, fewer of a shorter one, never all of it."""
    shown = 3 if len(account_number) >= 6 else max(len(account_number) - 3, 0)
    return "*" * (len(account_number) - shown) + account_number[len(account_number) - shown:]


# ---- figures ---------------------------------------------------------------------------------------------

_PAYOUT_SQL = """
with payout as (select * from payments.payouts where payout_id = $id),
sources as (
    select coalesce(sum(amount_yen) filter (where source_kind = 'statement'), 0) as statement_yen,
           coalesce(sum(amount_yen) filter (where source_kind = 'adjustment'), 0) as adjustment_yen,
           coalesce(sum(amount_yen) filter (where source_kind in ('remainder', 'returned_payout')), 0)
               as carried_in_yen,
           coalesce(sum(amount_yen), 0) as sources_yen
    from payments.payout_items where payout_id = $id
),
carried_out as (select coalesce(sum(amount_yen), 0) as carried_out_yen from payments.remainders where payout_id = $id),
muni as (
    select name from marts.dim_municipalities, payout
    where dim_municipalities.municipality_code = payout.municipality_code
      and valid_from <= payout.business_date and (valid_to is null or valid_to >= payout.business_date)
),
merchant as (
    select name from marts.dim_merchants, payout
    where dim_merchants.merchant_id = payout.merchant_id
      and valid_from <= payout.business_date and (valid_to is null or valid_to >= payout.business_date)
)
select payout.payout_id, payout.batch_id, payout.state, payout.municipality_code,
       (select any_value(name) from muni), payout.merchant_id, (select any_value(name) from merchant),
       payout.business_date, payout.transfer_date, payout.bank_code, payout.branch_code, payout.account_type,
       payout.account_number, payout.holder_kana, payout.fee_bearer, payout.fee_yen, payout.amount_yen,
       payout.transfer_yen, statement_yen, adjustment_yen, carried_in_yen, sources_yen, carried_out_yen,
       (select min(p.payout_id) from payments.payouts p where p.requeue_of = $id) as repaid_by
from payout, sources, carried_out
"""

# One row per period frozen into the payout: the frozen statement, counts of its items and the held part.
_PERIODS_SQL = """
with frozen as (
    select s.statement_id, s.municipality_code, s.merchant_id, s.period_start_date, s.period_end_date,
           s.amount_yen, s.use_amount_yen, s.cancel_amount_yen,
           s.settlement_item_ids
    from payments.statements s
    inner join payments.payout_items i on i.source_id = s.statement_id and i.source_kind = 'statement'
    where i.payout_id = $id
),
frozen_items as (
    select statement_id, unnest(from_json(settlement_item_ids, '["VARCHAR"]')) as settlement_item_id from frozen
),
counts as (
    select frozen_items.statement_id, sum(f.use_count) as use_count, sum(f.cancel_count) as cancel_count
    from frozen_items inner join marts.fct_settlement_items f using (settlement_item_id)
    group by frozen_items.statement_id
),
held as (
    select frozen.statement_id, sum(f.use_count) as use_count, sum(f.cancel_count) as cancel_count,
           sum(f.use_amount_yen) as use_yen, sum(f.cancel_amount_yen) as cancel_yen, sum(f.amount_yen) as held_yen
    from frozen inner join marts.fct_settlement_items f
        on f.municipality_code = frozen.municipality_code and f.merchant_id = frozen.merchant_id
       and f.period_start_date = frozen.period_start_date and f.period_end_date = frozen.period_end_date
       and f.settlement_status <> 'payable'
    group by frozen.statement_id
)
select frozen.period_start_date, frozen.period_end_date,
       coalesce(counts.use_count, 0) + coalesce(held.use_count, 0),
       frozen.use_amount_yen + coalesce(held.use_yen, 0),
       coalesce(counts.cancel_count, 0) + coalesce(held.cancel_count, 0),
       frozen.cancel_amount_yen + coalesce(held.cancel_yen, 0),
       coalesce(held.held_yen, 0), frozen.amount_yen
from frozen left join counts using (statement_id) left join held using (statement_id)
order by frozen.period_start_date, frozen.period_end_date
"""

_ADJUSTMENTS_SQL = """
select a.period_start_date, a.period_end_date, a.seq, a.amount_yen, a.found_on
from payments.adjustments a
inner join payments.payout_items i on i.source_id = a.adjustment_id and i.source_kind = 'adjustment'
where i.payout_id = $id
order by a.period_start_date, a.period_end_date, a.seq
"""


def _rows(con: duckdb.DuckDBPyConnection, sql: str, parameters: object) -> list[tuple]:
    try:
        return con.execute(sql, parameters).fetchall()
    except duckdb.CatalogException as exc:
        raise StatementError(f"the warehouse lacks a table the statement reads ({str(exc).splitlines()[0]}): run "
                             f"`seisan marts` and `seisan payments plan` for the date first") from None


def statement_figures(con: duckdb.DuckDBPyConnection, payout_id: str) -> MerchantStatement:
    """Every figure of the statement of `payout_id`, checked to add up (StatementError if it does not)."""
    found = _rows(con, _PAYOUT_SQL, {"id": payout_id})
    row = found[0] if found else None
    if row is None:
        raise StatementError(f"payout {payout_id} is not in payments.payouts; check the id (it is the EDI情報 of "
                             f"the bank file) or run `seisan payments plan` for its date first")
    periods = tuple(StatementPeriod(r[0], r[1], *(int(v) for v in r[2:]))
                    for r in _rows(con, _PERIODS_SQL, {"id": payout_id}))
    adjustments = tuple(StatementAdjustment(r[0], r[1], int(r[2]), int(r[3]), r[4])
                        for r in _rows(con, _ADJUSTMENTS_SQL, {"id": payout_id}))
    (pid, batch_id, state, muni_code, muni_name, merchant_id, merchant_name, business_date, transfer_date,
     bank_code, branch_code, account_type, account_number, holder_kana, fee_bearer, fee_yen, amount_yen,
     transfer_yen, statement_yen, adjustment_yen, carried_in_yen, sources_yen, carried_out_yen, repaid_by) = row
    use_yen, cancel_yen = sum(p.use_yen for p in periods), sum(p.cancel_yen for p in periods)
    statement = MerchantStatement(
        payout_id=pid, batch_id=batch_id, state=state, repaid_by_payout_id=repaid_by, municipality_code=muni_code,
        municipality_name=_shown(muni_name), merchant_id=merchant_id, merchant_name=_shown(merchant_name),
        business_date=business_date, transfer_date=transfer_date, bank_code=bank_code, branch_code=branch_code,
        account_type=int(account_type), account_number_masked=mask_account_number(account_number),
        holder_kana=_shown(holder_kana), periods=periods, adjustments=adjustments,
        use_count=sum(p.use_count for p in periods), use_yen=use_yen,
        cancel_count=sum(p.cancel_count for p in periods), cancel_yen=cancel_yen, items_yen=use_yen - cancel_yen,
        held_yen=sum(p.held_yen for p in periods), adjustments_yen=int(adjustment_yen),
        carried_in_yen=int(carried_in_yen), carried_out_yen=int(carried_out_yen), fee_bearer=fee_bearer,
        fee_yen=int(fee_yen), fee_deducted_yen=int(fee_yen) if fee_bearer == "payee" else 0,
        amount_yen=int(amount_yen), transfer_yen=int(transfer_yen))
    check_adds_up(statement, statement_sources_yen=int(statement_yen), sources_yen=int(sources_yen))
    return statement


def _shown(text: str | None) -> str:
    """Master text as a statement may print it: a My Number typed into a name by mistake is masked."""
    return mask_my_numbers(text or "") or ""


def check_adds_up(s: MerchantStatement, *, statement_sources_yen: int, sources_yen: int) -> None:
    """Raise StatementError unless the statement's lines add up to the transfer, and the frozen periods and the
    payout's sources agree (each is computed from other tables; a difference is a defect upstream)."""
    problems = []
    frozen_yen = sum(p.payable_yen for p in s.periods)
    if frozen_yen != statement_sources_yen:
        problems.append(f"its frozen periods sum to {frozen_yen} yen but its statement sources to "
                        f"{statement_sources_yen} yen")
    if s.items_yen - s.held_yen != frozen_yen:
        problems.append(f"items {s.items_yen} − held {s.held_yen} is not the frozen {frozen_yen} yen")
    if sources_yen - s.carried_out_yen != s.amount_yen:
        problems.append(f"its sources {sources_yen} − carried out {s.carried_out_yen} is not its amount "
                        f"{s.amount_yen} yen")
    lines_yen = (s.items_yen + s.adjustments_yen + s.carried_in_yen - s.held_yen - s.carried_out_yen
                 - s.fee_deducted_yen)
    if lines_yen != s.transfer_yen:
        problems.append(f"items {s.items_yen} + adjustments {s.adjustments_yen} + carried in {s.carried_in_yen} "
                        f"− held {s.held_yen} − carried out {s.carried_out_yen} − fee {s.fee_deducted_yen} = "
                        f"{lines_yen} yen, not the {s.transfer_yen} yen transferred")
    if problems:
        raise StatementError(f"the statement of payout {s.payout_id} does not add up ({'; '.join(problems)}): "
                             f"this is a defect in the payments tables, not in the statement; do not send it and "
                             f"report it with `seisan payments status --date {s.business_date}`")


def payout_ids_of_day(con: duckdb.DuckDBPyConnection, business_date: dt.date) -> list[str]:
    """Every payout in the payment files (batches) of business date D, by id."""
    ids = [r[0] for r in _rows(
        con, "select p.payout_id from payments.payouts p inner join payments.batches b using (batch_id) "
             "where b.business_date = ? order by p.payout_id limit ?", [business_date, PAYOUTS_PER_DAY_MAX + 1])]
    if len(ids) > PAYOUTS_PER_DAY_MAX:
        raise StatementError(f"{business_date} has more than {PAYOUTS_PER_DAY_MAX} payouts; write their statements "
                             f"one municipality at a time")
    return ids


# ---- rendering -------------------------------------------------------------------------------------------

def _period(start: dt.date, end: dt.date) -> str:
    return start.isoformat() if start == end else f"{start.isoformat()} 〜 {end.isoformat()}"


def figure_lines(s: MerchantStatement) -> list[tuple[str, str, str]]:
    """(label, count, signed amount) of the summary table, top to bottom, ending with the transfer."""
    fee_label = ("振込手数料 (加盟店負担、差し引き)" if s.fee_bearer == "payee"
                 else f"振込手数料 {yen(s.fee_yen)} は自治体負担 (差し引きなし)")
    return [
        ("ご利用 (利用)", f"{s.use_count:,}件", yen(s.use_yen)),
        ("取消", f"{s.cancel_count:,}件", yen(-s.cancel_yen)),
        ("精算対象額 (利用 − 取消)", "", yen(s.items_yen)),
        ("保留 (加盟店指定・状態の確認待ち、今回は支払いません)", "", yen(-s.held_yen)),
        ("過去の精算期間の調整", f"{len(s.adjustments):,}件", yen(s.adjustments_yen)),
        ("前回からの繰越 (手数料の端数・振込不能分の再振込)", "", yen(s.carried_in_yen)),
        ("次回への繰越 (端数)", "", yen(-s.carried_out_yen)),
        (fee_label, "", yen(-s.fee_deducted_yen)),
        ("お振込金額", "", yen(s.transfer_yen)),
    ]


def _bank_names(bank_code: str, branch_code: str) -> tuple[str, str]:
    """(" ﾐｽﾞﾎ", " ﾎﾝﾃﾝ") from contracts.banks when the codes are known there, else empty (never guessed)."""
    try:
        bank = f" {bank_name_kana(bank_code)}"
    except KeyError:
        return "", ""
    try:
        return bank, f" {branch_name_kana(bank_code, branch_code)}"
    except KeyError:
        return bank, ""


def _header_rows(s: MerchantStatement) -> list[list[str]]:
    bank, branch = _bank_names(s.bank_code, s.branch_code)
    account = (f"{s.bank_code}{bank}  支店 {s.branch_code}{branch}  "
               f"{ACCOUNT_TYPES.get(s.account_type, str(s.account_type))}  口座番号 {s.account_number_masked}")
    return [
        ["加盟店", f"{s.merchant_name} 様 (加盟店ID {s.merchant_id})"],
        ["自治体", f"{s.municipality_name} (団体コード {s.municipality_code})"],
        ["振込ID (EDI情報)", s.payout_id],
        ["振込指定日", era_date(s.transfer_date)],
        ["振込先", account],
        ["口座名義", s.holder_kana],
        ["振込手数料の負担", FEE_BEARERS.get(s.fee_bearer, s.fee_bearer)],
        ["精算日 (振込データ作成日)", era_date(s.business_date)],
        *([["状態", _returned_note(s)]] if s.state in ("returned", "requeued") else []),
    ]


def _returned_note(s: MerchantStatement) -> str:
    if s.repaid_by_payout_id:
        return f"振込不能で返却されました。振込ID {s.repaid_by_payout_id} で再振込しています。"
    return "振込不能で返却されました。口座の登録が訂正され次第、再振込します。"


def render_statement_pdf(s: MerchantStatement) -> bytes:
    """The statement as PDF bytes (A4, Japanese, fonts embedded; the same figures give the same bytes)."""
    from reportlab.platypus import Paragraph, Spacer

    from reports.pdf import build_pdf, styles, table

    st = styles()
    flow: list[object] = [
        Paragraph("精算明細書", st["title"]),
        Paragraph(f"{s.municipality_name}のポイントでのお支払いについて、今回のお振込の内訳をお知らせします。",
                  st["body"]),
        Spacer(1, 6),
        table(_header_rows(s), (48, 130), header=False),
        Paragraph("今回のお振込の内訳", st["heading"]),
        table([("項目", "件数", "金額"), *figure_lines(s)], (112, 24, 42), right_columns=(1, 2), bold_last=True),
        Paragraph("精算期間ごとの内訳", st["heading"]),
        table([("精算期間", "利用", "取消", "保留", "精算額"),
               *((_period(p.period_start_date, p.period_end_date), f"{p.use_count:,}件 {yen(p.use_yen)}",
                  f"{p.cancel_count:,}件 {yen(p.cancel_yen)}", yen(p.held_yen), yen(p.payable_yen))
                 for p in s.periods)] if s.periods else [("精算期間", "この振込に含まれる精算期間はありません")],
              (50, 40, 34, 26, 28) if s.periods else (62, 116), right_columns=(1, 2, 3, 4) if s.periods else ()),
    ]
    if s.adjustments:
        flow += [Paragraph("過去の精算期間の調整 (確定後に判明した利用・取消・保留の解除など)", st["heading"]),
                 table([("精算期間", "調整番号", "判明日", "金額"),
                        *((_period(a.period_start_date, a.period_end_date), str(a.seq), era_date(a.found_on),
                           yen(a.amount_yen)) for a in s.adjustments)], (50, 20, 70, 38), right_columns=(1, 3))]
    flow += [Spacer(1, 8), Paragraph(_notes(s), st["small"])]
    footer = f"精算明細書  {s.payout_id}  {s.merchant_id}  seisan"
    return build_pdf(flow, title=f"精算明細書 {s.payout_id}", footer=footer)


def _notes(s: MerchantStatement) -> str:
    return ("お振込金額 = 精算対象額 − 保留 + 過去の精算期間の調整 + 前回からの繰越 − 次回への繰越"
            f"{' − 振込手数料' if s.fee_bearer == 'payee' else ''}。"
            "振込IDは銀行の入金明細のEDI情報に表示されます。保留分は、加盟店の指定や状態が確認でき次第、"
            "後日の精算で調整としてお支払いします。件数は現在の集計によるもので、金額は精算確定時の額です。"
            "口座番号は末尾のみ表示しています。")


# ---- writing ---------------------------------------------------------------------------------------------

def statement_path(out_dir: Path, s: MerchantStatement) -> Path:
    """`<out>/<business date>/statements/<payout id>.pdf`."""
    return out_dir / s.business_date.isoformat() / STATEMENTS_FOLDER / f"{s.payout_id}.pdf"


def write_statements(con: duckdb.DuckDBPyConnection, out_dir: Path, payout_ids: Sequence[str]) -> list[Path]:
    """Write the statement of each payout (all computed and checked before the first is written); the paths."""
    statements = [statement_figures(con, payout_id) for payout_id in payout_ids]
    return [write_atomically(statement_path(out_dir, s), render_statement_pdf(s)) for s in statements]
