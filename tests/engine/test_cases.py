"""The example cases next to the rules, one pytest test each."""

from __future__ import annotations

from datetime import date

import pytest
import yaml

from engine import load_rules
from engine.cases import check_cases, run_case

from .conftest import RULES_DIR

CASES = load_rules(RULES_DIR).cases
TODAY = date(2026, 11, 22)


def test_cases_are_well_formed(snapshot):
    assert not check_cases(snapshot).items


def _inherits_everything(entry: dict) -> bool:
    """A place that names no law and no authority of its own answers as its parent does."""
    return bool(entry.get("parent")) and not entry.get("frameworks") and entry.get("authority") is None


def test_every_jurisdiction_has_a_case(snapshot):
    """Every place with rules of its own has an example case. A place that only inherits
    (the US states without a privacy law: the federal baseline) is covered by its parent's
    case, and only if it really decides exactly as its parent does on the cases' day."""
    covered = {str(dict(c.expect).get("jurisdiction", {}).get("code", "")) for c in CASES}
    inputs = {str(dict(c.input).get("jurisdiction", "")).upper() for c in CASES}
    entries = yaml.safe_load((RULES_DIR / "jurisdictions.yaml").read_text(encoding="utf-8"))["jurisdictions"]
    has_case = covered | inputs
    missing = []
    for code, entry in entries.items():
        if code == "DEFAULT" or code in has_case:
            continue
        if _inherits_everything(entry) and entry["parent"] in has_case:
            for age in (None, 5, 12, 13, 15, 16, 17, 18, 40):
                for context in ("consumer", "school"):
                    mine = snapshot.decide(code, age, False, TODAY, context)
                    parent = snapshot.decide(entry["parent"], age, False, TODAY, context)
                    assert (mine.age_gate, mine.rights, mine.opt_outs, mine.notices) == (
                        parent.age_gate, parent.rights, parent.opt_outs, parent.notices), (code, age, context)
            continue
        missing.append(code)
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
