"""The payment steps record what they write in audit.outputs: prepared files and manifests, the manifest again
once approved (a new version: it now holds the approver's signature), the copies handed to the bank and
exports.json; a rerun that writes identical bytes records nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest

from audit.verify import verify_audit
from seisan.config import load_settings
from seisan.payments_file_steps import approve_payment_file, export_payment_files, prepare_payment_files

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "payments"))
import payfile_builders as b  # noqa: E402 - tests/payments' hand-made batches and officers


def _rows(settings) -> list[tuple[str, str, str]]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute("select kind, step, path from audit.outputs order by seq").fetchall()


def test_prepare_approve_export_are_recorded_once_per_version(seisan_home: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    officers = b.make_officers(tmp_path / "officers")
    monkeypatch.setenv("SEISAN_PAYMENTS_OFFICERS_FILE", str(officers.registry_path))
    monkeypatch.setenv("SEISAN_OFFICER_KEY_DIR", str(officers.key_dir))
    monkeypatch.setenv("SEISAN_PAYMENTS_EXPORT_DIR", str(seisan_home / "bank-outbox"))
    seisan_home.mkdir(parents=True)
    duckdb.connect(str(seisan_home / "warehouse.duckdb")).close()
    settings = load_settings()
    prepared = prepare_payment_files(settings, b.BUSINESS_DATE, "OFF-SATO", batches=[b.small_batch()])
    prepare_payment_files(settings, b.BUSINESS_DATE, "OFF-SATO", batches=[b.small_batch()])  # same bytes
    name = prepared[0].path.name
    day = f"out/{b.BUSINESS_DATE}/payments"
    manifest = name.replace(".txt", ".manifest.json")
    assert _rows(settings) == [("payment_file", "payments_prepare", f"{day}/{name}"),
                               ("payment_manifest", "payments_prepare", f"{day}/{manifest}")]
    approve_payment_file(settings, prepared[0].path, "OFF-KATO")
    export_payment_files(settings, b.BUSINESS_DATE)
    export_payment_files(settings, b.BUSINESS_DATE)  # already handed over: nothing changes
    assert _rows(settings)[2:] == [("payment_manifest", "payments_approve", f"{day}/{manifest}"),
                                   ("payment_export", "payments_export", f"bank-outbox/{manifest}"),
                                   ("payment_export", "payments_export", f"bank-outbox/{name}"),
                                   ("payment_exports_record", "payments_export", f"{day}/exports.json")]
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert verify_audit(con, settings.home).ok
