"""Property-based tests of the engine over the shipped rules.

One snapshot of rules/ is loaded per module. Inputs are drawn from the whole request space
(jurisdictions spelt every way a client might, ages 0-130 or none, birthdates, GPC, dates
2015-2035), and each invariant is its own test. Two oracles are independent of the engine:
the statutory consent ages of legal-reference.md §1 and §3 (hard-coded below), and the
rule files' own effective dates, read here with plain `yaml.safe_load`.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from datetime import date, timedelta
from functools import cache
from typing import Any

import pytest
import yaml
from babel import Locale
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from engine import InvalidJurisdiction, Snapshot, load_snapshot

from .helpers_rules import RULES_DIR

# -- the independent oracle: legal-reference.md §1 (quick reference) and §3 (Art. 8) -----

# Age at or above which a person consents alone; None where the law sets no age, so the
# customer's policy (consent_age_where_law_is_silent) applies.
STATUTORY_CONSENT_AGE: dict[str, int | None] = {
    # §3, GDPR Art. 8 per EEA state
    "AT": 14, "BE": 13, "BG": 14, "HR": 16, "CY": 14, "CZ": 15, "DK": 13, "EE": 13, "FI": 13,
    "FR": 15, "DE": 16, "GR": 15, "HU": 16, "IE": 16, "IT": 14, "LV": 13, "LT": 14, "LU": 16,
    "MT": 13, "NL": 16, "PL": 16, "PT": 13, "RO": 16, "SK": 16, "SI": 15, "ES": 14, "SE": 13,
    "IS": 13, "LI": 16, "NO": 13,
    # §3: GDPR Art. 8(1) default where no state is named
    "EEA": 16,
    # §1 quick reference
    "GB": 13,  # UK GDPR Art. 8 / DPA 2018 s.9
    "CH": None,  # no statutory age: capacity of discernment
    "CA": 13,  # PIPEDA: OPC guidance, parents consent under 13
    "CA-QC": 14,  # Law 25, s. 4.1 / s. 14
    "CA-AB": 13,  # legal-reference.yaml age_rules: 13, unverified (§1 table: "none in statute [U]")
    "CA-BC": 13,  # legal-reference.yaml age_rules: 13, unverified (§1 table: "none in statute [U]")
    "US-CA": 13,  # COPPA under 13; the CCPA's 13-15 tier is about sale/sharing, not consent
    "DEFAULT": None,  # §10: policy only
}
EEA_STATES = [code for code in STATUTORY_CONSENT_AGE if len(code) == 2 and code not in ("GB", "CH", "CA")]


def statutory_age(code: str, age: int) -> int | None:
    """The statutory consent age for `code` at `age` (COPPA covers any US user under 13)."""
    if code == "US":  # §10: DEFAULT regime, with COPPA's legal overlay under 13
        return 13 if age < 13 else None
    return STATUTORY_CONSENT_AGE[code]


# -- the resolution spec (design.md API contract, legal-reference.md §11.1) ---------------

MODELLED = {*STATUTORY_CONSENT_AGE}
UNMODELLED_BUT_LISTED = {"US"}  # bare US: the DEFAULT regime plus COPPA
ALIASES = {"UK": "GB", "EL": "GR", "EU": "EEA", "CALIFORNIA": "US-CA"}
ISO_COUNTRY = re.compile(r"^[A-Z]{2}$")
ISO_SUBDIVISION = re.compile(r"^([A-Z]{2})-([A-Z0-9]{1,3})$")
KNOWN = MODELLED | UNMODELLED_BUT_LISTED


def expected_code(raw: str | None) -> str | None:
    """The code `raw` must resolve to, or None where it must be refused as malformed."""
    if raw is None or not raw.strip():
        return "DEFAULT"
    text = raw.strip()
    if not text.isascii() or len(text) > 64:
        return None
    key = text.upper().replace("_", "-")
    if key in KNOWN:
        return key
    if key in ALIASES:
        return ALIASES[key]
    if ISO_COUNTRY.match(key):
        return "DEFAULT"
    sub = ISO_SUBDIVISION.match(key)
    if sub:
        country = ALIASES.get(sub.group(1), sub.group(1))
        return country if country in KNOWN else "DEFAULT"
    return None


STATUS_RANK = {"blocked": 0, "parental_consent_required": 1, "allowed": 2}
STATUSES = {"allowed", "parental_consent_required", "blocked", "age_required"}
LEGAL_STATUSES = {"verified", "verified_secondary", "partially_verified", "unverified", "disputed",
                  "policy"}
EPOCH = date(1970, 1, 1)

# -- one snapshot per module, and the rule files read independently ---------------------


@pytest.fixture(scope="module")
def snap() -> Snapshot:
    return load_snapshot(RULES_DIR)


@cache
def raw_policy() -> dict:
    return yaml.safe_load((RULES_DIR / "policy.yaml").read_text(encoding="utf-8"))


@cache
def raw_jurisdictions() -> dict[str, dict]:
    entries = yaml.safe_load((RULES_DIR / "jurisdictions.yaml").read_text(encoding="utf-8"))
    return entries["jurisdictions"]


@cache
def place_path(code: str) -> tuple[str, ...]:
    parent = raw_jurisdictions()[code].get("parent")
    return (*place_path(parent), code) if parent else (code,)


@cache
def place_frameworks(code: str) -> tuple[str, ...]:
    entry = raw_jurisdictions()[code]
    if entry.get("frameworks"):
        return tuple(entry["frameworks"])
    return place_frameworks(entry["parent"])


@cache
def raw_rules() -> tuple[dict, ...]:
    """Every rule of frameworks/*.yaml as plain data, with its framework and effect slots."""
    out = []
    for path in sorted((RULES_DIR / "frameworks").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for rule in data["rules"]:
            then = rule["then"]
            slots = {("age_gate", "age_gate")} if "age_gate" in then else set()
            for section, kind in (("rights", "right"), ("opt_outs", "opt_out"), ("notices", "notice")):
                slots |= {(kind, item["id"]) for item in then.get(section, ())}
            where = (rule.get("when") or {}).get("jurisdiction", ())
            out.append({
                "id": rule["id"], "framework": data["framework"], "slots": frozenset(slots),
                "places": (where,) if isinstance(where, str) else tuple(where),
                "from": rule.get("effective_from"), "until": rule.get("effective_until"),
            })
    return tuple(out)


def reaches(rule: dict, code: str) -> bool:
    if rule["framework"] not in place_frameworks(code):
        return False
    return not rule["places"] or any(p in place_path(code) for p in rule["places"])


def starts_of(rule: dict) -> set[date]:
    """The days on which `rule` starts or stops applying."""
    days = set()
    if rule["from"]:
        days.add(rule["from"])
    if rule["until"]:
        days.add(rule["until"] + timedelta(days=1))
    return days


@cache
def boundaries(code: str) -> frozenset[date]:
    return frozenset(d for r in raw_rules() if reaches(r, code) for d in starts_of(r))


def slots_changing_on(code: str, day: date) -> set[tuple[str, str]]:
    slots: set[tuple[str, str]] = set()
    for rule in raw_rules():
        if reaches(rule, code) and day in starts_of(rule):
            slots |= rule["slots"]
    if ("age_gate", "age_gate") in slots:
        slots.add(("notice", "parental_consent"))
    return slots


def plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    return value


def by_slot(decision: Any) -> dict[tuple[str, str], Any]:
    out = {("age_gate", "age_gate"): plain(decision.age_gate)}
    for kind, items in (("right", decision.rights), ("opt_out", decision.opt_outs),
                        ("notice", decision.notices)):
        for item in items:
            out[(kind, item["id"])] = plain(item)
    return out


def compute_age(birthdate: date, on: date) -> int:
    """Completed years on `on` (someone born on 29 February turns a year older on 1 March)."""
    return on.year - birthdate.year - ((on.month, on.day) < (birthdate.month, birthdate.day))


# -- strategies --------------------------------------------------------------------------

CODES = sorted(KNOWN)
ages = st.none() | st.integers(0, 130)
days = st.dates(date(2015, 1, 1), date(2035, 12, 31))
gpcs = st.booleans()
codes = st.sampled_from(CODES)


@st.composite
def spelt(draw: st.DrawFn, text: str) -> str:
    """`text` as a client might send it: any case, `_` for `-`, padded with spaces."""
    out = "".join(draw(st.sampled_from((c.lower(), c.upper()))) if c.isalpha() else c for c in text)
    if draw(st.booleans()):
        out = out.replace("-", "_")
    pad = st.sampled_from(("", " ", "  ", "\t"))
    return draw(pad) + out + draw(pad)


modelled_inputs = codes.flatmap(spelt)
alias_inputs = st.sampled_from(sorted(ALIASES)).flatmap(spelt)
two_letters = st.text(string.ascii_uppercase, min_size=2, max_size=2)
unmodelled_countries = two_letters.filter(lambda c: c not in KNOWN and c not in ALIASES)
subdivisions = st.builds(lambda c, s: f"{c}-{s}", two_letters,
                         st.text(string.ascii_uppercase + string.digits, min_size=1, max_size=3)
                         ).filter(lambda c: c not in KNOWN)
unmodelled_inputs = (st.sampled_from(("BR", "ZZ", "US-TX", "CA-ON", "DE-BY", "US", "GB-SCT", "EL-I"))
                     | unmodelled_countries | subdivisions).flatmap(spelt)
well_formed_inputs = modelled_inputs | alias_inputs | unmodelled_inputs
any_inputs = well_formed_inputs | st.text(max_size=80) | st.none()
# What a request names, weighted towards modelled places; decisions are looked up for
# whatever it resolves to, as the API does.
places = modelled_inputs | modelled_inputs | alias_inputs | unmodelled_inputs | st.none()

MANY = settings(max_examples=300, deadline=None)
CHEAP = settings(max_examples=1000, deadline=None)


def applicable_consent_age(snapshot: Snapshot, gate: Mapping) -> int:
    """The consent age a decision itself claims: its statutory age, else the policy's."""
    statutory = gate["digital_consent_age"]
    return statutory if statutory is not None else snapshot.ruleset.policy.consent_age_where_law_is_silent


# -- resolution --------------------------------------------------------------------------


def test_the_oracle_covers_every_jurisdiction(snap: Snapshot) -> None:
    assert set(snap.tables) == KNOWN
    assert dict(snap.ruleset.aliases) == ALIASES


@CHEAP
@given(raw=any_inputs)
@example(raw="\x00")
@example(raw="DE" * 40)
@example(raw="US-CA-1")
def test_any_input_resolves_or_is_invalid(snap: Snapshot, raw: str | None) -> None:
    """Whatever a client sends, resolution gives a known code or InvalidJurisdiction, nothing else."""
    try:
        resolution = snap.resolve(raw)
    except InvalidJurisdiction as exc:
        assert raw is not None and raw.strip()
        assert str(exc)
        return
    assert resolution.code in snap.tables
    assert resolution.matched in {"subdivision", "country", "alias", "region", "default"}


@CHEAP
@given(raw=well_formed_inputs)
def test_well_formed_input_always_resolves(snap: Snapshot, raw: str) -> None:
    resolution = snap.resolve(raw)
    assert resolution.code == expected_code(raw)
    assert (resolution.matched == "default") == (resolution.code in ("DEFAULT", "US"))
    assert resolution.requested == raw.strip()


@CHEAP
@given(raw=any_inputs)
@example(raw="ıt")  # dotless i: "ıt".upper() == "IT"
@example(raw="ß")  # "ß".upper() == "SS"
@example(raw="ﬁ")  # the ligature: "ﬁ".upper() == "FI"
def test_resolution_follows_the_spec(snap: Snapshot, raw: str | None) -> None:
    """ISO codes are ASCII: non-ASCII letters that upper-case into a code are malformed."""
    expected = expected_code(raw)
    if expected is None:
        with pytest.raises(InvalidJurisdiction):
            snap.resolve(raw)
    else:
        assert snap.resolve(raw).code == expected


@CHEAP
@given(raw=st.sampled_from(("CA", "CA-ON", "CA-NS", "CA-QC", "CA-AB", "CA-BC", "CA-YT")).flatmap(spelt))
def test_ca_is_canada_never_california(snap: Snapshot, raw: str) -> None:
    resolution = snap.resolve(raw)
    assert resolution.code != "US-CA"
    assert resolution.code.startswith("CA")
    assert "pipeda" in snap.tables["CA"].jurisdiction.frameworks
    assert "ccpa" not in snap.tables[resolution.code].jurisdiction.frameworks


@CHEAP
@given(raw=any_inputs)
def test_only_california_spellings_reach_california(snap: Snapshot, raw: str | None) -> None:
    try:
        resolution = snap.resolve(raw)
    except InvalidJurisdiction:
        return
    if resolution.code == "US-CA":
        assert raw is not None
        assert raw.strip().upper().replace("_", "-") in ("US-CA", "CALIFORNIA")


# -- the age gate ------------------------------------------------------------------------


@MANY
@given(place=places, age=ages, gpc=gpcs, day=days)
def test_exactly_one_age_gate_outcome(snap: Snapshot, place: str | None, age: int | None, gpc: bool,
                                      day: date) -> None:
    code = snap.resolve(place).code
    decision = snap.decide(code, age, gpc, day)
    gates = [effect for kind, effect in decision.effects() if kind == "age_gate"]
    assert len(gates) == 1
    gate = gates[0]
    status = gate["status"]
    minimum = snap.ruleset.policy.minimum_signup_age
    assert status in STATUSES
    assert gate["minimum_age"] == minimum == raw_policy()["minimum_signup_age"]
    assert (status == "age_required") == (age is None)
    notices = {n["id"] for n in decision.notices}
    assert ("parental_consent" in notices) == (status == "parental_consent_required")
    if age is None:
        assert gate["parental_consent_required"] is None
        return
    assert (status == "blocked") == (age < minimum)
    if status == "blocked":
        return
    consent_age = applicable_consent_age(snap, gate)
    assert (status == "parental_consent_required") == (minimum <= age < consent_age)
    assert gate["parental_consent_required"] is (status == "parental_consent_required")
    if status == "parental_consent_required":
        assert gate["consent_age"] == consent_age
        assert gate["consent_by"] in ("parent", "parent_and_child")


def _check_against_reference(snap: Snapshot, code: str, age: int, day: date, gpc: bool) -> None:
    gate = snap.decide(code, age, gpc, day).age_gate
    minimum = raw_policy()["minimum_signup_age"]
    statutory = statutory_age(code, age)
    consent_age = statutory if statutory is not None else raw_policy()["consent_age_where_law_is_silent"]
    if age < minimum:
        expected = "blocked"
    elif age < consent_age:
        expected = "parental_consent_required"
    else:
        expected = "allowed"
    got = (gate["status"], gate["digital_consent_age"] if expected != "blocked" else statutory)
    assert got == (expected, statutory), (
        f"{code} age {age}: the engine says {gate['status']} with digital_consent_age "
        f"{gate['digital_consent_age']} ({gate['rule']}); legal-reference.md says {expected} with "
        f"statutory age {statutory} (consent age {consent_age})")
    if expected != "blocked":
        assert gate["basis"] == ("law" if statutory is not None else "policy")


@pytest.mark.parametrize("code", [*sorted(STATUTORY_CONSENT_AGE), "US"])
def test_age_gate_matches_the_legal_reference(snap: Snapshot, code: str) -> None:
    """Every age, both GPC values, each date interval: the status the reference implies."""
    for day in sorted({date(2015, 1, 1), *boundaries(code)}):
        for gpc in (False, True):
            for age in range(131):
                _check_against_reference(snap, code, age, day, gpc)


@MANY
@given(birthdate=st.dates(date(1895, 1, 1), date(2035, 12, 31)), first=days, later=days,
       place=places, gpc=gpcs)
@example(birthdate=date(2012, 2, 29), first=date(2025, 2, 28), later=date(2025, 3, 1), place="us-tx",
         gpc=False)
def test_growing_older_never_makes_the_age_gate_stricter(snap: Snapshot, birthdate: date, first: date,
                                                         later: date, place: str | None,
                                                         gpc: bool) -> None:
    """A person's birthdate, seen on two days: the later age gate is never stricter."""
    code = snap.resolve(place).code
    first, later = min(first, later), max(first, later)
    assume(birthdate <= first and compute_age(birthdate, later) <= 130)
    gate_days = {d for r in raw_rules() if reaches(r, code) and ("age_gate", "age_gate") in r["slots"]
                 for d in starts_of(r)}
    assume(not any(first < d <= later for d in gate_days))
    before = snap.decide(code, compute_age(birthdate, first), gpc, first).age_gate["status"]
    after = snap.decide(code, compute_age(birthdate, later), gpc, later).age_gate["status"]
    assert STATUS_RANK[before] <= STATUS_RANK[after], f"{before} at {first} but {after} at {later}"


@settings(max_examples=40, deadline=None)
@given(day=days)
@example(day=date(2025, 6, 23))
def test_default_is_at_least_as_protective_as_any_modelled_place(snap: Snapshot, day: date) -> None:
    """At every age, DEFAULT (and bare US) need parental consent wherever any modelled place does."""
    stricter = {"parental_consent_required", "blocked"}
    strictest = max(age for age in STATUTORY_CONSENT_AGE.values() if age is not None)
    for age in range(131):
        regimes = {code: snap.decide(code, age, False, day).age_gate for code in ("DEFAULT", "US")}
        for name, fallback in regimes.items():
            if raw_policy()["minimum_signup_age"] <= age < strictest:
                assert fallback["status"] == "parental_consent_required", (name, age)
        for code in MODELLED - {"DEFAULT"}:
            gate = snap.decide(code, age, False, day).age_gate
            for name, fallback in regimes.items():
                if gate["status"] in stricter:
                    assert fallback["status"] in stricter, (
                        f"{code} needs {gate['status']} at {age}, {name} says {fallback['status']}")
                if gate["status"] == "blocked":
                    assert fallback["status"] == "blocked"


# -- GPC ---------------------------------------------------------------------------------


@MANY
@given(place=places, age=ages, day=days)
def test_gpc_never_turns_an_opt_out_back_on(snap: Snapshot, place: str | None, age: int | None,
                                            day: date) -> None:
    code = snap.resolve(place).code
    without = {o["id"]: o for o in snap.decide(code, age, False, day).opt_outs}
    with_gpc = {o["id"]: o for o in snap.decide(code, age, True, day).opt_outs}
    for opt_id, off_decision in without.items():
        assert opt_id in with_gpc, f"GPC removed the opt-out {opt_id}"
        assert off_decision["gpc_applied"] is False
        if off_decision["default"] == "off":
            assert with_gpc[opt_id]["default"] == "off", f"GPC turned {opt_id} on in {code}"
    for opt_id, on_decision in with_gpc.items():
        if on_decision["default"] == "on":
            assert without.get(opt_id, {}).get("default") == "on"
        if on_decision["gpc_applied"]:
            assert on_decision["default"] == "off"


@MANY
@given(age=ages, day=days)
def test_gpc_opts_out_of_sale_and_sharing_in_california(snap: Snapshot, age: int | None,
                                                        day: date) -> None:
    code = snap.resolve("us-ca").code
    opt_outs = {o["id"]: o for o in snap.decide(code, age, True, day).opt_outs}
    for opt_id in ("sale_sharing", "targeted_advertising"):
        assert opt_outs[opt_id]["default"] == "off"
        assert opt_outs[opt_id]["gpc_applied"] is True
    notices = {n["id"] for n in snap.decide(code, age, True, day).notices}
    assert ("gpc_status" in notices) == (day >= date(2026, 1, 1))  # 11 CCR § 7025 as amended


@MANY
@given(code=st.sampled_from(sorted(KNOWN - {"US-CA"})), age=ages, day=days)
def test_gpc_outside_california_follows_the_policy(snap: Snapshot, code: str, age: int | None,
                                                   day: date) -> None:
    without = snap.decide(code, age, False, day)
    with_gpc = snap.decide(code, age, True, day)
    assert "gpc_status" not in {n["id"] for n in without.notices}
    if not raw_policy()["honour_gpc_outside_california"]:
        assert by_slot(without) == by_slot(with_gpc)
        return
    before = {o["id"]: o for o in without.opt_outs}
    changed = False
    for opt in with_gpc.opt_outs:
        if opt["id"] not in ("sale_sharing", "targeted_advertising"):
            continue
        assert opt["default"] == "off"
        # The signal is "applied" exactly where it turned something off (finding 7).
        was_on = before[opt["id"]]["default"] == "on"
        assert opt["gpc_applied"] is was_on, opt
        changed = changed or was_on
    # The GPC notice appears only when the signal changed something for this person.
    assert ("gpc_status" in {n["id"] for n in with_gpc.notices}) == changed


# -- effects -----------------------------------------------------------------------------


def _check_cited(snap: Snapshot, decision: Any) -> None:
    rule_ids = {rule.id for rule in snap.ruleset.rules}
    for kind, effect in decision.effects():
        assert isinstance(effect["citation"], str) and effect["citation"].strip(), (kind, effect)
        rule = effect["rule"]
        assert rule in rule_ids or rule.startswith("policy."), (kind, rule)
        assert effect["legal_status"] in LEGAL_STATUSES
    for steps in decision.steps.values():
        for step in steps:
            assert step.rule in rule_ids or step.rule.startswith("policy.")
    # every outcome can be explained: its rule is among the steps that produced it
    for kind, effect in decision.effects():
        slot = ("age_gate", "age_gate") if kind == "age_gate" else (kind, effect["id"])
        assert effect["rule"] in {step.rule for step in decision.steps.get(slot, ())}, (slot, effect)


def _check_unique(decision: Any) -> None:
    for items in (decision.rights, decision.opt_outs, decision.notices):
        ids = [item["id"] for item in items]
        assert len(ids) == len(set(ids)), f"duplicate ids in {ids}"


@MANY
@given(place=places, age=ages, gpc=gpcs, day=days)
def test_every_effect_is_cited(snap: Snapshot, place: str | None, age: int | None, gpc: bool,
                               day: date) -> None:
    code = snap.resolve(place).code
    _check_cited(snap, snap.decide(code, age, gpc, day))


@MANY
@given(place=places, age=ages, gpc=gpcs, day=days)
def test_no_contradictory_effects(snap: Snapshot, place: str | None, age: int | None, gpc: bool,
                                  day: date) -> None:
    code = snap.resolve(place).code
    decision = snap.decide(code, age, gpc, day)
    _check_unique(decision)
    for opt in decision.opt_outs:
        assert opt["mechanism"] in ("opt_in", "opt_out")
        assert opt["default"] in ("on", "off")


# -- dates -------------------------------------------------------------------------------


def test_decisions_change_only_on_rule_boundaries(snap: Snapshot) -> None:
    """The engine's date intervals are exactly the rules' effective_from/until boundaries."""
    for code, table in snap.tables.items():
        assert set(table.axes.day_starts) == {EPOCH, *boundaries(code)}, code


@CHEAP
@given(place=places, age=ages, gpc=gpcs, day=days)
def test_a_day_changes_only_what_its_rules_say(snap: Snapshot, place: str | None, age: int | None, gpc: bool,
                                                day: date) -> None:
    code = snap.resolve(place).code
    after = day + timedelta(days=1)
    before_slots = by_slot(snap.decide(code, age, gpc, day))
    after_slots = by_slot(snap.decide(code, age, gpc, after))
    changed = {s for s in before_slots.keys() | after_slots.keys()
               if before_slots.get(s) != after_slots.get(s)}
    assert changed <= slots_changing_on(code, after), (
        f"{code}: {sorted(changed)} changed from {day} to {after}")


@pytest.mark.parametrize(("code", "kind", "item", "first_day"), [
    ("GB", "right", "complain_to_controller", date(2026, 6, 19)),
    ("GB", "notice", "complaints_procedure", date(2026, 6, 19)),
    ("US-CA", "right", "opt_out_admt", date(2027, 1, 1)),
    ("US-CA", "notice", "admt_pre_use_notice", date(2027, 1, 1)),
    ("CA-QC", "right", "portability", date(2024, 9, 22)),
    ("CA-QC", "right", "deindexation", date(2023, 9, 22)),
])
def test_dated_effects_start_on_their_day(snap: Snapshot, code: str, kind: str, item: str,
                                          first_day: date) -> None:
    eve = first_day - timedelta(days=1)
    for age in (None, 0, 12, 13, 15, 16, 17, 18, 40, 130):
        for gpc in (False, True):
            on_eve = by_slot(snap.decide(code, age, gpc, eve))
            on_day = by_slot(snap.decide(code, age, gpc, first_day))
            assert (kind, item) not in on_eve, f"{item} already on {eve}"
            assert (kind, item) in on_day, f"{item} missing on {first_day}"
            changed = {s for s in on_eve.keys() | on_day.keys() if on_eve.get(s) != on_day.get(s)}
            assert changed <= slots_changing_on(code, first_day)


def test_uk_cookie_exemptions_start_on_5_february_2026(snap: Snapshot) -> None:
    eve = snap.decide("GB", 30, False, date(2026, 2, 4))
    day = snap.decide("GB", 30, False, date(2026, 2, 5))
    cookies_eve = {o["id"]: o for o in eve.opt_outs}["cookies"]
    cookies_day = {o["id"]: o for o in day.opt_outs}["cookies"]
    assert "exemptions" not in cookies_eve
    assert "statistics" in cookies_day["exemptions"]
    assert cookies_day["mechanism"] == cookies_eve["mechanism"] == "opt_in"


# -- exhaustive --------------------------------------------------------------------------


def test_exhaustive_every_jurisdiction_age_gpc_and_boundary(snap: Snapshot) -> None:
    """Every jurisdiction x age 0-130 and none x GPC x each date boundary and the day before."""
    checked = 0
    for code, table in snap.tables.items():
        probe_days = {table.supported_from or date(2015, 1, 1)}
        for start in table.axes.day_starts[1:]:
            probe_days |= {start, start - timedelta(days=1)}
        for day in sorted(probe_days):
            for gpc in (False, True):
                rank = -1
                for age in [None, *range(131)]:
                    decision = snap.decide(code, age, gpc, day)
                    status = decision.age_gate["status"]
                    assert status in STATUSES
                    assert (status == "age_required") == (age is None)
                    if age is not None:
                        assert STATUS_RANK[status] >= rank, f"{code} stricter at {age} than below"
                        rank = STATUS_RANK[status]
                    assert decision.jurisdiction == code
                    assert decision.age_range[0] is None or decision.age_range[0] <= age
                    _check_unique(decision)
                    _check_cited(snap, decision)
                    checked += 1
    assert checked >= len(snap.tables) * 132 * 2


def test_gpc_never_turns_an_opt_out_back_on_in_any_class(snap: Snapshot) -> None:
    """Every precomputed class: its GPC twin never has an opt-out on that was off without GPC."""
    pairs = 0
    for code, table in snap.tables.items():
        for (band, gpc, interval, context), decision in table.decisions.items():
            if gpc:
                continue
            twin = table.decisions[(band, True, interval, context)]
            with_gpc = {o["id"]: o for o in twin.opt_outs}
            for opt in decision.opt_outs:
                assert opt["id"] in with_gpc, (code, band, interval, opt["id"])
                if opt["default"] == "off":
                    assert with_gpc[opt["id"]]["default"] == "off", (code, band, interval, opt["id"])
            if code == "US-CA":
                assert with_gpc["sale_sharing"]["default"] == "off"
                assert with_gpc["sale_sharing"]["gpc_applied"] is True
            pairs += 1
    assert pairs == sum(len(t.decisions) for t in snap.tables.values()) // 2


def test_every_unmodelled_country_gets_the_default_regime(snap: Snapshot) -> None:
    territories = sorted(t for t in Locale("en").territories if len(t) == 2 and t.isalpha())
    assert len(territories) > 240
    for territory in territories:
        for spelling in (territory, territory.lower()):
            resolution = snap.resolve(spelling)
            if territory in KNOWN or territory in ALIASES:
                assert resolution.code == ALIASES.get(territory, territory)
            else:
                assert (resolution.code, resolution.matched) == ("DEFAULT", "default"), territory
    for raw in ("", "   ", None, "US", "us-tx", "US_NY"):
        resolution = snap.resolve(raw)
        assert resolution.matched == "default"
        assert "default" in snap.tables[resolution.code].jurisdiction.frameworks
