"""Hand-made payment batches and officers for the payment-file tests (payments.files, signing, officers).

Batches are written out by hand here (no planning involved: that is helper payledger's part); officers get
real Ed25519 keys made by `payments.officers.init_officer_key` in a temporary folder outside the repository.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path

from payments.model import PayeeAccount, PayerAccount, PaymentBatch, Payout
from payments.officers import Registry, init_officer_key, load_private_key, parse_registry

BUSINESS_DATE = dt.date(2026, 11, 30)
TRANSFER_DATE = dt.date(2026, 12, 2)
MUNICIPALITY = "131016"

PAYER = PayerAccount(client_code="1234567890", client_name_kana="チヨダク ポイントジム", bank_code="0001",
                     branch_code="004", account_type=1, account_number="7654321")


def payout(payout_id: str, merchant_id: str, holder_kana: str, amount_yen: int, fee_yen: int = 0,
           fee_bearer: str = "payer", *, bank_code: str = "0005", branch_code: str = "123", account_type: int = 1,
           account_number: str = "1234567", transfer_date: dt.date = TRANSFER_DATE,
           municipality_code: str = MUNICIPALITY) -> Payout:
    transfer_yen = amount_yen - fee_yen if fee_bearer == "payee" else amount_yen
    return Payout(payout_id=payout_id, municipality_code=municipality_code, merchant_id=merchant_id,
                  transfer_date=transfer_date,
                  payee=PayeeAccount(bank_code, branch_code, account_type, account_number, holder_kana),
                  amount_yen=amount_yen, fee_yen=fee_yen, fee_bearer=fee_bearer, transfer_yen=transfer_yen)


def small_batch() -> PaymentBatch:
    """Two payouts: one whose fee the payer bears, one whose fee is deducted (payee bears it)."""
    return PaymentBatch(
        batch_id="B-131016-20261202-1", municipality_code=MUNICIPALITY, business_date=BUSINESS_DATE,
        transfer_date=TRANSFER_DATE, payer=PAYER,
        payouts=(payout("PO-20261202-0001", "M00000001", "ｶ)ﾔﾏﾀﾞｼﾖｳﾃﾝ", 123_456, 330, "payer"),
                 payout("PO-20261202-0002", "M00000002", "すずき　はなこ", 5_000, 440, "payee",
                        bank_code="0009", branch_code="045", account_type=2, account_number="89")))


def big_batch(index: int, payouts: int = 40) -> PaymentBatch:
    """A batch of `payouts` payouts for the kill tests: batch `index` of one day."""
    municipality = ("131016", "271004", "011002")[index % 3]
    items = tuple(payout(f"PO-{index:03d}-{n:05d}", f"M{n:08d}", f"ｼﾖｳﾃﾝ {n}", 1_000 + 37 * n + index,
                         220 if n % 3 else 0, "payee" if n % 2 else "payer", municipality_code=municipality)
                  for n in range(1, payouts + 1))
    return PaymentBatch(batch_id=f"B-{index:03d}", municipality_code=municipality, business_date=BUSINESS_DATE,
                        transfer_date=TRANSFER_DATE, payer=replace(PAYER, client_code=f"{index + 1:010d}"),
                        payouts=items)


@dataclass(frozen=True, slots=True)
class Officers:
    """Three registered officers with keys in `key_dir`: SATO prepares, KATO approves, ITO does both."""

    key_dir: Path
    registry_path: Path
    registry: Registry

    def key(self, officer_id: str):
        return load_private_key(self.key_dir, officer_id)


ROLES = {"OFF-SATO": ["preparer"], "OFF-KATO": ["approver"], "OFF-ITO": ["preparer", "approver"]}


def make_officers(folder: Path, roles: dict[str, list[str]] | None = None) -> Officers:
    key_dir = folder / "keys"
    blocks = []
    for officer_id, officer_roles in (roles or ROLES).items():
        _, block = init_officer_key(key_dir, officer_id, officer_id.title())
        blocks.append(block.replace('roles = ["preparer"]  # or ["approver"], or both',
                                    f"roles = {officer_roles!r}".replace("'", '"')))
    registry_path = folder / "officers.toml"
    registry_path.write_text("\n".join(blocks), encoding="utf-8")
    return Officers(key_dir, registry_path, parse_registry(registry_path.read_text(encoding="utf-8"),
                                                            registry_path))
