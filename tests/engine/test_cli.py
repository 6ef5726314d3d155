"""The `rightsgate` command, through click's CliRunner."""

from __future__ import annotations

import functools
import json

import pytest
from click.testing import CliRunner

from engine import cli, load_snapshot
from engine.cli import EXIT_CASES_FAILED, EXIT_INVALID, main

from .conftest import RULES_DIR


@pytest.fixture(autouse=True)
def loads_through_a_bundle_store(shipped_bundles, monkeypatch):
    """Each command loads its rules once or twice; what is tested here is the command (its
    arguments, output and exit codes), not the compile (tests/engine/test_snapshot.py,
    test_bundle.py; scripts/test runs `rightsgate validate` and `test` for real). So the
    shipped rules come from the session's bundle (the same Snapshot: test_bundle.py) instead
    of a compile each, and every edited set is still compiled and validated as before."""
    monkeypatch.setattr(cli, "load_snapshot", functools.partial(load_snapshot, bundles=shipped_bundles))


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_validate_shipped_rules():
    result = run("validate", str(RULES_DIR))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: ")
    # 30 EEA states, the EEA, GB, CH, Canada with 3 provinces, the US with 50 states and DC,
    # 24 world countries and DEFAULT.
    assert "114 jurisdictions" in result.output


def test_validate_reports_file_line_and_suggestion(rules_copy):
    path = rules_copy / "frameworks" / "gdpr.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("citation: GDPR Art. 8(1)-(2)", "citaton: GDPR Art. 8(1)-(2)"),
                    encoding="utf-8")
    line = next(n for n, row in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                if "citaton:" in row)
    result = run("validate", str(rules_copy))
    assert result.exit_code == EXIT_INVALID
    assert f"frameworks/gdpr.yaml:{line}: unknown key 'citaton' (did you mean 'citation'?)" in result.output


def test_test_command_passes_on_shipped_rules():
    result = run("test", str(RULES_DIR), "--today", "2026-11-22")
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("0 failed")


def test_test_command_tells_failed_from_invalid(rules_copy):
    cases = rules_copy / "cases" / "others.yaml"
    cases.write_text(cases.read_text(encoding="utf-8").replace(
        "status: parental_consent_required, digital_consent_age: 14, rule: qc.age_gate",
        "status: allowed, digital_consent_age: 14, rule: qc.age_gate"), encoding="utf-8")
    result = run("test", str(rules_copy))
    assert result.exit_code == EXIT_CASES_FAILED
    assert "FAIL cases/others.yaml:" in result.output
    assert "age_gate.status: expected 'allowed', got 'parental_consent_required'" in result.output
    assert "decided by: age_gate: qc.age_gate" in result.output

    (rules_copy / "policy.yaml").write_text("minimum_signup_age: thirteen\n", encoding="utf-8")
    result = run("test", str(rules_copy))
    assert result.exit_code == EXIT_INVALID


def test_explain_in_words():
    result = run("explain", "--jurisdiction", "AT", "--age", "13", "--as-of", "2026-11-22")
    assert result.exit_code == 0, result.output
    assert ("parental consent required: GDPR Art. 8(1) with Datenschutzgesetz (DSG) § 4(4), "
            "rule gdpr.art8.at [verified_secondary], because AT and age 13 < 14") in result.output


def test_explain_json_names_rules_and_reasons():
    result = run("explain", "-j", "US-CA", "--age", "30", "--gpc", "--json", "--as-of", "2026-11-22")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    sale = next(e for e in data["explanations"] if e["id"] == "sale_sharing")
    assert sale["rule"] == "ccpa.gpc"
    assert sale["rules"] == ["ccpa.sale_sharing.adult", "ccpa.gpc"]
    assert "the browser sent a GPC signal" in sale["because"]


def test_explain_rejects_malformed_jurisdiction():
    result = run("explain", "-j", "not a place!")
    assert result.exit_code == 2
    assert "not an ISO 3166 code" in result.output


def test_diff_shows_what_a_change_changes(rules_copy):
    path = rules_copy / "frameworks" / "gdpr.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("id: gdpr.art8.pt")
    at = text.index("digital_consent_age: 13", start)
    path.write_text(text[:at] + "digital_consent_age: 16" + text[at + 23:], encoding="utf-8")
    result = run("diff", str(RULES_DIR), str(rules_copy))
    assert result.exit_code == 0, result.output
    # Grouped by place, then age band, in plain sentences; each names its first day (Portugal's
    # own age applies from 9 August 2019: before it, GDPR Art. 8(1)'s 16 already applied), once
    # even where later intervals (2024-02-17) repeat it, and once for school and consumer accounts.
    output = result.output
    assert output.startswith("Portugal (PT): ")
    assert "  ages 0-130:\n    - the digital consent age is now 16 (was 13) (from 2019-08-09)\n" in output
    band = output[output.index("  ages 13-15:"):]
    assert ("    - people now need a parent's consent (before: can sign up and consent themselves) "
            "(from 2019-08-09)") in band
    # Below the new age a parent consents to every opt-in too.
    assert ("    - for 'Direct marketing', a parent must consent (before: the person consents) "
            "(from 2019-08-09)") in band
    assert "2024-02-17" not in output and "2018-05-25" not in output
    assert "(AT)" not in output and "school accounts" not in output
    assert "None" not in output
    assert "0 added, 0 removed" in output


def test_diff_of_identical_rules_is_empty():
    result = run("diff", str(RULES_DIR), str(RULES_DIR))
    assert result.exit_code == 0
    assert result.output.startswith("0 change(s)")
