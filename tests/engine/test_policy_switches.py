"""Rules that only apply to some customers switch with their policy.yaml setting.

Florida's § 501.1735 binds online platforms predominantly accessed by children; the
shipped policy says the customer is not one (`predominantly_accessed_by_children: false`),
so the example cases (which run on the shipped policy) never see it. Here the setting is
turned on in a copy of the rules and the rule must decide for under-18s in Florida only.
"""

from __future__ import annotations

from datetime import date

from engine import load_snapshot

DAY = date(2026, 6, 1)
BANNED = {"profiling", "sale_sharing", "geolocation"}


def _opt_outs(snapshot, code: str, age: int, context: str = "consumer") -> dict[str, dict]:
    return {o["id"]: o for o in snapshot.decide(code, age, False, DAY, context).opt_outs}


def test_floridas_childrens_platform_rule_follows_the_policy_setting(snapshot, rules_copy):
    policy = rules_copy / "policy.yaml"
    text = policy.read_text(encoding="utf-8")
    assert "predominantly_accessed_by_children: false" in text
    policy.write_text(text.replace("predominantly_accessed_by_children: false",
                                   "predominantly_accessed_by_children: true"), encoding="utf-8")
    switched = load_snapshot(rules_copy, bundles=None)

    shipped = _opt_outs(snapshot, "US-FL", 15)
    assert "geolocation" not in shipped
    assert shipped["sale_sharing"]["mechanism"] == "opt_in"
    assert shipped["profiling"]["rule"] == "fdbr.opt_outs"

    for age in (5, 12, 13, 17):
        for context in ("consumer", "school"):
            if context == "consumer" and age < 13:
                continue  # below the shipped minimum signup age: blocked
            found = _opt_outs(switched, "US-FL", age, context)
            for oid in BANNED:
                assert found[oid]["mechanism"] == "prohibited", (age, context, oid)
                assert found[oid]["rule"] == "fdbr.online_platform_minors"
                assert found[oid]["knowledge"] == "wilful_disregard"
                assert found[oid]["default"] == "off"
    adult = _opt_outs(switched, "US-FL", 18)
    assert adult["profiling"]["mechanism"] == "opt_out" and "geolocation" not in adult
    # Only Florida: Texas answers as with the shipped policy.
    assert _opt_outs(switched, "US-TX", 15) == _opt_outs(snapshot, "US-TX", 15)
    # Before the FDBR starts Florida has no such rule either.
    before = {o["id"] for o in switched.decide("US-FL", 15, False, date(2024, 6, 30)).opt_outs}
    assert "geolocation" not in before
