"""Rule changes in the legal team's words (engine.sentences) and upcoming effective dates."""

from __future__ import annotations

from datetime import date

from engine.diff import Change, upcoming_changes
from engine.sentences import readable, sentence


def test_a_consent_change_reads_as_a_sentence(snapshot):
    change = Change("DK", "ages 13-14", None, None, "age_gate.consent_by", "person", "parent", "any")
    assert sentence(change, snapshot.ruleset) == (
        "Denmark, ages 13-14: a parent must consent now (before: the person consents)")
    opt_in = Change("US-CO", "ages 13-17", False, date(2025, 10, 1),
                    "opt_outs.targeted_advertising.mechanism", "opt_out", "opt_in", "consumer")
    assert sentence(opt_in, snapshot.ruleset) == (
        "Colorado, ages 13-17, without GPC, consumer accounts from 2025-10-01: 'Targeted advertising' "
        "now needs opt-in consent (before: is on unless the person opts out)")


def test_an_unknown_field_is_still_said_plainly(snapshot):
    change = Change("FR", "everyone", None, None, "rights.access.response", None, "30 days", "any")
    assert sentence(change, snapshot.ruleset) == (
        "France, everyone: 'Right of access': response is now 30 days (was not set)")


def test_upcoming_changes_say_what_changes_on_which_date_for_whom(snapshot):
    said = [sentence(c, snapshot.ruleset) for c in readable(upcoming_changes(snapshot, date(2026, 12, 1)))]
    assert "Alabama, everyone from 2027-05-01: now gets the right 'Right to appeal'" in said
    assert any(s.startswith("Oklahoma, ") and "from 2027-01-01" in s for s in said)
    # Only what is still ahead: nothing that took effect before the day asked.
    assert not any("from 2026-0" in s or "from 2025" in s for s in said)
    # An item that appears is one sentence, not one per field it has.
    assert not any("Alabama" in s and "'Right to appeal' is now decided by rule" in s for s in said)
    later = upcoming_changes(snapshot, date(2027, 6, 1))
    assert not any(c.jurisdiction == "US-AL" for c in later)
