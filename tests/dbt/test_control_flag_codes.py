"""The control-flag codes are owned by contracts.reasons.ControlFlag: dbt's accepted values and docs/formats.md
must list exactly those codes."""

from __future__ import annotations

from pathlib import Path

import yaml

from contracts.reasons import ControlFlag

ROOT = Path(__file__).resolve().parents[2]


def test_dbt_accepted_flag_codes_are_the_contract_codes():
    model = yaml.safe_load((ROOT / "dbt/models/marts/fct_control_flags.yml").read_text())["models"][0]
    column = next(c for c in model["columns"] if c["name"] == "flag_code")
    accepted = next(t["accepted_values"] for t in column["data_tests"] if isinstance(t, dict))
    assert sorted(accepted["arguments"]["values"]) == sorted(flag.value for flag in ControlFlag)


def test_every_flag_code_is_documented_with_an_example():
    formats = (ROOT / "docs/formats.md").read_text()
    section = formats[formats.index("### Control flags of loaded ledger rows"):]
    for flag in ControlFlag:
        assert f"| `{flag.value}` |" in section, flag
