"""The CSV files of FORMATS.md as data: which columns each file kind has, their types, its keys, its name.

One `FileKind` per kind of delivered CSV file. The simulator writes from these, ingestion reads and validates
against them, docs/formats.md and the raw tables (`raw.<kind.table>`) follow them. Bank statements (Zengin) and
terminal logs (JSON Lines) have their own modules; file names of every kind are in contracts.inbox_names.

Column types (`ColumnType`):
- `id`: a text identifier checked by `pattern` (municipality codes also by their check digit); identifiers that
  others assign and FORMATS.md gives no pattern for (event ids, order ids, partner transaction ids, payment
  references, programme codes, ...) use `REFERENCE`: any text of 1 to `REF_MAX_CHARS` characters;
- `text`: free text of at most `TEXT_MAX_CHARS` characters;
- `enum`: one of `values`;
- `amount`: an integer point/yen amount of one transaction, 0..10,000,000 unless `signed` (adjust only);
- `count`: a non-negative integer that is not a transaction amount (balances, caps, minimum payouts);
- `date`: YYYY-MM-DD; `timestamp`: ISO 8601 with offset, loaded as JST wall-clock time;
- `decimal`: a non-negative decimal (cost rates only), loaded as text to keep it exact;
- `digits`: a fixed-width numeric code kept as text (bank codes, account numbers).

Every `id`, `text` and `enum` value is also checked for a leaked My Number and for control characters
(contracts/validation.py). Patterns are FORMATS.md's own and no narrower: where FORMATS.md sets none, any
text is accepted (issue 7: valid data is never refused).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ColumnType(StrEnum):
    ID = "id"
    TEXT = "text"
    ENUM = "enum"
    AMOUNT = "amount"
    COUNT = "count"
    DATE = "date"
    TIMESTAMP = "timestamp"
    DECIMAL = "decimal"
    DIGITS = "digits"


@dataclass(frozen=True, slots=True)
class Column:
    """One CSV column.

    name: header name; type: how it is validated and loaded; required: empty is an error;
    pattern: full-match regex for `id`/`digits`; values: allowed values for `enum`;
    signed: an `amount` that may be negative (ledger `adjust` only).
    """

    name: str
    type: ColumnType
    required: bool = True
    pattern: str | None = None
    values: tuple[str, ...] = ()
    signed: bool = False


@dataclass(frozen=True, slots=True)
class FileKind:
    """One kind of delivered CSV file.

    name: stable kind name, e.g. `platform_ledger` (also the raw table name); source: inbox folder (the
    file-name pattern is in contracts.inbox_names); columns: the exact header set; keys: the columns whose
    values identify a row for duplicate detection across files (FORMATS.md "File identity").
    """

    name: str
    source: str
    columns: tuple[Column, ...]
    keys: tuple[str, ...]
    description: str = ""
    column_names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "column_names", tuple(c.name for c in self.columns))

    @property
    def table(self) -> str:
        return self.name

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)


MUNICIPALITY_CODE = r"[0-9]{6}"
MYKEY_ID = r"(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{8,16}"
MERCHANT_ID = r"M[0-9]{8}"
TERMINAL_ID = r"T[0-9]{8}"
PARTNER_CODE = r"[A-Z][A-Z0-9]{2,9}"
REF_MAX_CHARS = 256  # longest identifier assigned by others that is accepted (a bound, not a shape)
TEXT_MAX_CHARS = 1024  # longest free-text value (names, kana, categories) that is accepted
# Identifiers others assign and FORMATS.md gives no shape for: any text (control characters and My Numbers
# are refused by validation for every text value); the length bound is also `REF_MAX_CHARS`.
REFERENCE = r"(?s).{1,256}"
PROGRAM_CODE = REFERENCE
EVENT_ID = REFERENCE
GENERIC_REF = REFERENCE
BANK_CODE = r"[0-9]{4}"
BRANCH_CODE = r"[0-9]{3}"
ACCOUNT_NUMBER = r"[0-9]{7}"
CLIENT_CODE = r"[0-9]{10}"
HEX_SERIAL = r"[0-9a-fA-F]{1,64}"
BASE64 = r"[A-Za-z0-9+/]+={0,2}"
EXPIRY_RULE = r"none|days:[0-9]{1,5}|fiscal_year_end:[0-9]{1,2}"  # N and K bounded: dates stay in range
SETTLEMENT_DAY = r"[1-9]|1[0-9]|2[0-8]|end"

PARTNER_KINDS = ("credit_card", "airline", "retail", "bank", "utility", "telecom", "online_mall",
                 "crowdfunding", "acquirer")

def _master(name: str, columns: tuple[Column, ...], keys: tuple[str, ...], description: str) -> FileKind:
    return FileKind(f"master_{name}", "master", columns, keys, description)


C = Column
T = ColumnType

MASTER_MUNICIPALITIES = _master("municipalities", (
    C("municipality_code", T.ID, pattern=MUNICIPALITY_CODE),
    C("name", T.TEXT), C("name_kana", T.TEXT), C("prefecture", T.TEXT),
    C("settlement_cycle", T.ENUM, values=("daily", "weekly", "monthly")),
    C("settlement_day", T.ID, required=False, pattern=SETTLEMENT_DAY),
    C("min_payout_yen", T.COUNT),
    C("fee_bearer", T.ENUM, values=("payer", "payee")),
    C("payer_bank_code", T.DIGITS, pattern=BANK_CODE), C("payer_branch_code", T.DIGITS, pattern=BRANCH_CODE),
    C("payer_account_type", T.ENUM, values=("1", "2", "9")),
    C("payer_account_number", T.DIGITS, pattern=ACCOUNT_NUMBER),
    C("client_code", T.DIGITS, pattern=CLIENT_CODE), C("client_name_kana", T.TEXT),
), ("municipality_code",), "municipalities using seisan, their settlement cycle and paying account")

MASTER_MERCHANTS = _master("merchants", (
    C("merchant_id", T.ID, pattern=MERCHANT_ID), C("name", T.TEXT), C("name_kana", T.TEXT),
    C("category", T.TEXT), C("channel", T.ENUM, values=("store", "online", "exchange")),
    C("bank_code", T.DIGITS, pattern=BANK_CODE), C("branch_code", T.DIGITS, pattern=BRANCH_CODE),
    C("account_type", T.ENUM, values=("1", "2", "4", "9")),
    C("account_number", T.DIGITS, pattern=ACCOUNT_NUMBER), C("account_holder_kana", T.TEXT),
    C("status", T.ENUM, values=("active", "suspended", "closed")),
), ("merchant_id",), "merchants and their bank accounts")

MASTER_DESIGNATIONS = _master("designations", (
    C("municipality_code", T.ID, pattern=MUNICIPALITY_CODE), C("merchant_id", T.ID, pattern=MERCHANT_ID),
    C("valid_from", T.DATE), C("valid_to", T.DATE, required=False),
), ("municipality_code", "merchant_id", "valid_from"), "which merchants may accept which municipality's points")

MASTER_PROGRAMS = _master("programs", (
    C("program_code", T.ID, pattern=PROGRAM_CODE), C("municipality_code", T.ID, pattern=MUNICIPALITY_CODE),
    C("name", T.TEXT),
    C("kind", T.ENUM, values=("benefit", "activity", "health", "conversion", "prepaid")),
    C("funding", T.ENUM, values=("municipal_budget", "partner", "prepaid")),
    C("expiry", T.ID, pattern=EXPIRY_RULE),
    C("annual_cap_per_person", T.COUNT, required=False),
), ("program_code",), "point programmes: funding, expiry rule, annual cap")

MASTER_PARTNERS = _master("partners", (
    C("partner_code", T.ID, pattern=PARTNER_CODE), C("name", T.TEXT),
    C("kind", T.ENUM, values=PARTNER_KINDS), C("encoding", T.ENUM, values=("utf-8", "cp932")),
    C("payer_name_kana", T.TEXT),
), ("partner_code",), "partner companies and acquirers")

MASTER_TERMINALS = _master("terminals", (
    C("terminal_id", T.ID, pattern=TERMINAL_ID), C("merchant_id", T.ID, pattern=MERCHANT_ID),
    C("public_key", T.ID, pattern=BASE64), C("active_from", T.DATE), C("active_to", T.DATE, required=False),
), ("terminal_id", "active_from"), "shop terminals and their Ed25519 seal keys")

MASTER_FEE_SCHEDULE = _master("fee_schedule", (
    C("bank_code", T.DIGITS, pattern=BANK_CODE),
    C("relation", T.ENUM, values=("same_branch", "same_bank", "other_bank")),
    C("min_amount", T.COUNT), C("max_amount", T.COUNT, required=False), C("fee_yen", T.COUNT),
), ("bank_code", "relation", "min_amount"), "transfer fees charged by each paying bank")

MASTER_COST_RATES = _master("cost_rates", (
    C("item", T.ID, pattern=REFERENCE), C("unit", T.ID, pattern=REFERENCE),
    C("yen_per_unit", T.DECIMAL),
), ("item",), "processing-cost rates for the cost report")

PLATFORM_LEDGER = FileKind("platform_ledger", "platform", (
    C("event_id", T.ID, pattern=EVENT_ID), C("event_ts", T.TIMESTAMP),
    C("municipality_code", T.ID, pattern=MUNICIPALITY_CODE),
    C("program_code", T.ID, required=False, pattern=PROGRAM_CODE),
    C("mykey_id", T.ID, pattern=MYKEY_ID),
    C("event_type", T.ENUM, values=("grant", "use", "cancel", "expire", "charge", "adjust")),
    C("amount", T.AMOUNT, signed=True),
    C("merchant_id", T.ID, required=False, pattern=MERCHANT_ID),
    C("terminal_id", T.ID, required=False, pattern=TERMINAL_ID),
    C("auth_id", T.ID, required=False, pattern=GENERIC_REF),
    C("cancel_of", T.ID, required=False, pattern=EVENT_ID),
    C("lot_event_id", T.ID, required=False, pattern=EVENT_ID),
    C("channel", T.ENUM, values=("terminal", "online", "exchange", "batch")),
    C("partner_code", T.ID, required=False, pattern=PARTNER_CODE),
    C("partner_txn_id", T.ID, required=False, pattern=GENERIC_REF),
    C("payment_ref", T.ID, required=False, pattern=GENERIC_REF),
), ("event_id",), "every balance-changing event of the business date")

PLATFORM_BALANCES = FileKind("platform_balances", "platform", (
    C("municipality_code", T.ID, pattern=MUNICIPALITY_CODE), C("program_code", T.ID, pattern=PROGRAM_CODE),
    C("mykey_id", T.ID, pattern=MYKEY_ID), C("balance", T.COUNT),
), ("municipality_code", "program_code", "mykey_id"), "end-of-day balances as the platform believes")

PLATFORM_MYKEY_CERTS = FileKind("platform_mykey_certs", "platform", (
    C("mykey_id", T.ID, pattern=MYKEY_ID), C("cert_serial", T.ID, pattern=HEX_SERIAL),
    C("cert_der", T.ID, pattern=BASE64),
    C("event", T.ENUM, values=("registered", "reissued", "revoked")),
    C("previous_serial", T.ID, required=False, pattern=HEX_SERIAL), C("event_ts", T.TIMESTAMP),
), ("cert_serial", "event"), "certificate registrations, reissues and revocations")

PARTNER_CONVERSION = FileKind("partner_conversion", "partner", (
    C("partner_txn_id", T.ID, pattern=GENERIC_REF), C("txn_ts", T.TIMESTAMP),
    C("mykey_id", T.ID, pattern=MYKEY_ID), C("municipality_code", T.ID, pattern=MUNICIPALITY_CODE),
    C("partner_points", T.AMOUNT), C("municipal_points", T.AMOUNT), C("amount_due_yen", T.AMOUNT),
    C("status", T.ENUM, values=("applied", "cancelled")),
), ("partner_txn_id", "status"), "partner points converted into municipal points")

PARTNER_SALES = FileKind("partner_sales", "partner", (
    C("order_id", T.ID, pattern=GENERIC_REF), C("order_ts", T.TIMESTAMP),
    C("mykey_id", T.ID, pattern=MYKEY_ID), C("municipality_code", T.ID, pattern=MUNICIPALITY_CODE),
    C("merchant_id", T.ID, pattern=MERCHANT_ID), C("points_used", T.AMOUNT),
    C("status", T.ENUM, values=("captured", "refunded")),
), ("order_id", "status"), "online orders paid with points")

PARTNER_SETTLEMENT = FileKind("partner_settlement", "partner", (
    C("payment_ref", T.ID, pattern=GENERIC_REF), C("charged_at", T.TIMESTAMP),
    C("municipality_code", T.ID, pattern=MUNICIPALITY_CODE),
    C("amount", T.AMOUNT), C("fee", T.AMOUNT), C("net", T.AMOUNT), C("deposit_date", T.DATE),
), ("payment_ref",), "acquirer settlements for points bought by credit card")

MASTER_KINDS = (MASTER_MUNICIPALITIES, MASTER_MERCHANTS, MASTER_DESIGNATIONS, MASTER_PROGRAMS,
                MASTER_PARTNERS, MASTER_TERMINALS, MASTER_FEE_SCHEDULE, MASTER_COST_RATES)
PLATFORM_KINDS = (PLATFORM_LEDGER, PLATFORM_BALANCES, PLATFORM_MYKEY_CERTS)
PARTNER_KINDS_FILES = (PARTNER_CONVERSION, PARTNER_SALES, PARTNER_SETTLEMENT)
CSV_KINDS: tuple[FileKind, ...] = MASTER_KINDS + PLATFORM_KINDS + PARTNER_KINDS_FILES
CSV_KINDS_BY_NAME = {k.name: k for k in CSV_KINDS}
