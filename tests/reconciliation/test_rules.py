"""Rule files: the shipped ones load; a bad one fails with a clear message naming the file and the place."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_fixtures import pair_rule, side, write_rules

from contracts.reasons import BreakCode
from reconciliation.rules import RULES_DIR, RuleError, Tolerance, load_rule, load_rules


def test_shipped_rules_load_and_name_known_codes() -> None:
    rules = load_rules()
    names = {r.pair for r in rules}
    assert {"terminal_platform_transactions", "terminal_seq_continuity", "online_sales_platform",
            "conversion_grants"} <= names
    for rule in rules:
        assert rule.path.stem == rule.pair
        orphans = [o.break_code for o in (rule.left_orphan, rule.right_orphan) if o]
        codes = [c.break_code for c in rule.compare] + orphans
        assert all(code in set(BreakCode) for code in codes)


def test_a_pair_rule_is_read_into_typed_fields(tmp_path: Path) -> None:
    rule = load_rule(write_rules(tmp_path, pair_rule("abc")) / "abc.yml")
    assert rule.left.key == ("k",) and rule.right is not None and rule.right.source == "platform"
    assert rule.compare[0].tolerance == Tolerance(0, "yen") and rule.compare[1].tolerance is None
    assert rule.left_orphan is not None and rule.left_orphan.window == Tolerance(1, "days")


def _compare(tolerance: dict) -> dict:
    return {"left": "a", "right": "b", "tolerance": tolerance, "break": "amount_mismatch"}


@pytest.mark.parametrize("change, message", [
    ({"cardinality": "2:1"}, "cardinality: '2:1' is not one of 1:1, 1:n, n:1"),
    ({"compare": [_compare({"value": 1, "unit": "points"})]}, "compare[0].tolerance.unit: unknown unit 'points'"),
    ({"compare": [_compare({"value": -1, "unit": "yen"})]},
     "compare[0].tolerance.value: -1 is not a non-negative integer"),
    ({"compare": [{"left": "a", "right": "b", "break": "no_such_code"}]},
     "compare[0].break: unknown break code 'no_such_code'"),
    ({"compare": [{"left": "a", "break": "amount_mismatch"}]}, "compare[0].right: missing key"),
    ({"left": {k: v for k, v in side("l").items() if k != "date"}}, "left.date: missing key"),
    ({"left": side("l", relation="just_a_table")}, "left.relation: 'just_a_table' is not schema.table"),
    ({"left": side("l", amount="a; drop table x")}, "left.amount: 'a; drop table x' is not a column name"),
    ({"right": side("r", key=["a", "b"])}, "key: left has 1 key columns, right 2"),
    ({"orphans": {"left": {"break": "use_missing_in_platform"}}}, "orphans.right: missing key"),
    ({"kind": "match"}, "kind: 'match' is not one of pair, check"),
    ({"colour": "red"}, "colour: unknown key"),
    ({"pair": "other"}, "pair: 'other' must equal the file name 'p'"),
    ({"break": "terminal_seq_gap"}, "break: only a check has this key"),
])
def test_bad_rules_are_refused_with_a_clear_message(tmp_path: Path, change: dict, message: str) -> None:
    rule = pair_rule("p", **change)
    path = tmp_path / "p.yml"
    write_rules(tmp_path, {**rule, "pair": "p"})
    if "pair" in change:
        text = path.read_text(encoding="utf-8").replace("pair: p", f"pair: {change['pair']}")
        path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleError) as error:
        load_rule(path)
    assert any(problem == f"p.yml: {message}" or problem.startswith(f"p.yml: {message}")
               for problem in error.value.problems), error.value.problems


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    write_rules(tmp_path, pair_rule("p", cardinality="x", colour="red"))
    with pytest.raises(RuleError) as error:
        load_rules(tmp_path)
    assert len(error.value.problems) == 2


def test_two_files_with_the_same_pair_are_refused(tmp_path: Path) -> None:
    write_rules(tmp_path, pair_rule("p"))
    (tmp_path / "q.yml").write_text((tmp_path / "p.yml").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(RuleError) as error:
        load_rules(tmp_path)
    assert any("duplicate pair name 'p'" in p or "must equal the file name 'q'" in p for p in error.value.problems)


def test_a_check_has_one_side_and_no_matching_keys(tmp_path: Path) -> None:
    check = {"pair": "c", "description": "d", "kind": "check", "side": side("l"), "compare": []}
    write_rules(tmp_path, check)
    with pytest.raises(RuleError) as error:
        load_rule(tmp_path / "c.yml")
    assert error.value.problems == ("c.yml: compare: a check has one side and no matching keys",)
    del check["compare"]
    write_rules(tmp_path, check)
    rule = load_rule(tmp_path / "c.yml")
    assert rule.kind == "check" and rule.break_code is None and rule.left.relation == "t.l"


def test_not_yaml_and_not_a_mapping(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text("pair: [unclosed", encoding="utf-8")
    (tmp_path / "b.yml").write_text("- a list\n", encoding="utf-8")
    with pytest.raises(RuleError) as error:
        load_rules(tmp_path)
    assert [p.split(":")[0] for p in error.value.problems] == ["a.yml", "b.yml"]


def test_rules_dir_is_the_package_folder() -> None:
    assert RULES_DIR.name == "rules" and (RULES_DIR / "terminal_platform_transactions.yml").exists()
