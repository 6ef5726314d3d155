"""The example cases next to the rules, one pytest test each."""

from __future__ import annotations

from datetime import date

import pytest

from engine import load_rules
from engine.cases import check_cases, run_case

from .conftest import RULES_DIR

CASES = load_rules(RULES_DIR).cases
TODAY = date(2026, 11, 22)


def test_cases_are_well_formed(snapshot):
    assert not check_cases(snapshot).items


def test_every_jurisdiction_has_a_case():
    covered = {str(dict(c.expect).get("jurisdiction", {}).get("code", "")) for c in CASES}
    inputs = {str(dict(c.input).get("jurisdiction", "")).upper() for c in CASES}
    ruleset = load_rules(RULES_DIR)
    missing = [code for code in ruleset.jurisdictions
               if code not in covered | inputs and code != "DEFAULT"]
    assert not missing, f"no example case for {missing}"


@pytest.mark.parametrize("case", CASES, ids=[f"{c.location.file}:{c.location.line}" for c in CASES])
def test_case(snapshot, case):
    result = run_case(snapshot, case, TODAY)
    assert result.passed, "\n".join(result.failures + result.deciding_rules)


def test_a_wrong_expectation_fails(snapshot):
    """The runner must be able to fail: flip one expectation and it does."""
    case = next(c for c in CASES if c.name.startswith("Austria, age 13"))
    gate = dict(case.expect["age_gate"])
    gate["digital_consent_age"] = 99
    broken = type(case)(case.name, case.input, {**case.expect, "age_gate": gate}, case.location)
    result = run_case(snapshot, broken, TODAY)
    assert not result.passed
    assert "age_gate.digital_consent_age: expected 99, got 14" in result.failures
