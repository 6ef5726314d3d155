"""Property-based tests of the engine over the shipped rules.

One snapshot of rules/ is loaded per module. Inputs are drawn from the whole request space
(jurisdictions spelt every way a client might, territories, ages 0-130 or none, birthdates,
GPC, the consumer and school contexts, dates 1990-2035), and each invariant is its own test.
Two oracles are independent of the engine: the statutory consent ages of legal-reference.md
§1 and §3, legal-reference-us.md and legal-reference-world.md with the dates the rule files
give them (hard-coded below), and the rule files' own effective dates, read here with plain
`yaml.safe_load`.
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

from engine import InvalidJurisdiction, Snapshot
from engine.snapshot import DateNotModelled

from .helpers_rules import RULES_DIR

# -- the independent oracle: who consents alone, from which age, since when --------------

GDPR_START = date(2018, 5, 25)
GDPR_ART8_DEFAULT = 16  # Art. 8(1): where a state has not (yet) set its own age
# Art. 8(1) lets no state go above 16: the highest *digital* age of consent. Places whose
# civil majority (18, 20) decides are stricter than that and stricter than the policy age.
DIGITAL_CONSENT_AGE_MAX = 16

# §3, GDPR Art. 8 per EEA state: the national age, from the day the national provision
# entered into force (rules/frameworks/gdpr.yaml effective_from). Before it, Art. 8(1)'s 16.
EEA_NATIONAL: dict[str, tuple[int, date]] = {
    "AT": (14, GDPR_START), "BE": (13, date(2018, 9, 5)), "BG": (14, date(2019, 3, 2)),
    "CY": (14, date(2018, 7, 31)), "CZ": (15, date(2019, 4, 24)), "DE": (16, GDPR_START),
    "DK": (13, GDPR_START), "EE": (13, date(2019, 1, 15)), "ES": (14, date(2018, 12, 7)),
    "FI": (13, date(2019, 1, 1)), "FR": (15, date(2018, 6, 22)), "GR": (15, date(2019, 8, 29)),
    "HR": (16, GDPR_START), "HU": (16, GDPR_START), "IE": (16, GDPR_START),
    "IS": (13, date(2018, 7, 15)), "IT": (14, date(2018, 9, 19)), "LI": (16, date(2018, 7, 20)),
    "LT": (14, date(2018, 7, 16)), "LU": (16, GDPR_START), "LV": (13, date(2018, 7, 5)),
    "MT": (13, date(2018, 5, 28)), "NL": (16, GDPR_START), "NO": (13, date(2018, 7, 20)),
    "PL": (16, GDPR_START), "PT": (13, date(2019, 8, 9)), "RO": (16, GDPR_START),
    "SE": (13, GDPR_START), "SI": (15, date(2023, 1, 26)), "SK": (16, GDPR_START),
}
EEA_STATES = sorted(EEA_NATIONAL)

# §1 quick reference: one age (None: no statutory age, the policy age applies) from a day.
FIXED: dict[str, int | None] = {
    "EEA": GDPR_ART8_DEFAULT,  # §3: GDPR Art. 8(1) default where no state is named
    "GB": 13,  # UK GDPR Art. 8 / DPA 2018 s.9
    "CH": None,  # no statutory age: capacity of discernment
    "CA": 13,  # PIPEDA: OPC guidance, parents consent under 13
    "CA-AB": None,  # round 2: "none in statute" (§1 table); the policy age decides
    "CA-BC": None,  # round 2: "none in statute" (§1 table); the policy age decides
    "DEFAULT": None,  # §10: policy only
}
QUEBEC_LAW25_S41 = date(2023, 9, 22)  # Law 25 s. 4.1: 14, from its second phase

# The earliest day each place is modelled (the start of its first law); None: any day,
# because the DEFAULT baseline (no date) answers before the place's own law starts.
SUPPORTED_FROM: dict[str, date] = {
    **dict.fromkeys(EEA_NATIONAL, GDPR_START), "EEA": GDPR_START, "GB": GDPR_START,
    "CH": date(1993, 7, 1), "CA": date(2001, 1, 1), "CA-QC": date(1994, 1, 1),
    "CA-AB": date(2004, 1, 1), "CA-BC": date(2004, 1, 1),
}

# legal-reference-us.md: COPPA (parents consent under 13) since the COPPA Rule took effect;
# a state's comprehensive privacy law sets 13 ("child" as in COPPA) from the day it starts;
# no state sets a higher digital age of consent, so above 13 the policy age applies until then.
COPPA_START = date(2000, 4, 21)
COPPA_AGE = 13
US_STATE_LAW_START: dict[str, date] = {
    "US-AL": date(2027, 5, 1), "US-CA": date(2020, 1, 1), "US-CO": date(2023, 7, 1),
    "US-CT": date(2023, 7, 1), "US-DE": date(2025, 1, 1), "US-FL": date(2024, 7, 1),
    "US-IA": date(2025, 1, 1), "US-IN": date(2026, 1, 1), "US-KY": date(2026, 1, 1),
    "US-LA": date(2027, 1, 1), "US-MD": date(2025, 10, 1), "US-MN": date(2025, 7, 31),
    "US-MT": date(2024, 10, 1), "US-NE": date(2025, 1, 1), "US-NH": date(2025, 1, 1),
    "US-NJ": date(2025, 1, 15), "US-OK": date(2027, 1, 1), "US-OR": date(2024, 7, 1),
    "US-RI": date(2026, 1, 1), "US-TN": date(2025, 7, 1), "US-TX": date(2024, 7, 1),
    "US-UT": date(2023, 12, 31), "US-VA": date(2023, 1, 1),
}
# No comprehensive state law: the federal baseline [default, coppa, ferpa] (IL and NY add
# student-privacy laws for school accounts, which set no age).
US_BASELINE_STATES = {f"US-{s}" for s in (
    "AK AZ AR GA HI ID KS ME MA MI MS MO NV NM NC ND OH PA SC SD VT WA WV WI WY DC IL NY").split()}
US_PLACES = {"US", *US_STATE_LAW_START, *US_BASELINE_STATES}

# legal-reference-world.md, with the start dates of the rule files: (from, age) steps; before
# the first step the DEFAULT baseline (policy age) answers. "CL" is age-banded (below).
WORLD: dict[str, tuple[tuple[date, int], ...]] = {
    "AE": ((date(2026, 1, 1), 18),),  # Child Digital Safety law; before: no age
    "AR": ((date(2000, 11, 2), 18),),  # civil capacity
    "AU": (),  # no statutory age (draft Children's Online Privacy Code not in force)
    "BR": ((date(2020, 9, 18), 12),),  # LGPD Art. 14 (criança); ECA Digital below
    "CL": ((date(2026, 12, 1), 16),),  # Ley 21.719: 14 for niños, 16 on the stricter reading
    "CN": ((date(2021, 11, 1), 14),),  # PIPL Art. 31
    "CO": ((date(2012, 10, 18), 18),),
    "ID": ((date(2024, 10, 17), 18),),  # UU PDP Art. 25
    "IL": ((date(2025, 8, 14), 18),),
    "IN": ((date(2027, 5, 13), 18),),  # DPDP Rules: children's consent from 13 May 2027
    "JP": (),  # no statutory age
    "KE": ((date(2019, 11, 8), 18),),  # DPA s.33
    "KR": ((date(2023, 9, 15), 14),),  # PIPA Art. 22-2
    "MX": ((date(2025, 3, 21), 18),),
    "MY": ((date(2013, 11, 15), 18),),
    "NG": ((date(2023, 6, 12), 18),),  # NDPA s.31
    "NZ": (),  # no statutory age
    "PH": ((date(2024, 12, 17), 18),),  # NPC Advisory 2024-03
    "SA": ((date(2023, 9, 14), 18),),
    "SG": ((date(2024, 3, 28), 13),),  # PDPC advisory guidelines (children), 28 Mar 2024
    "TH": ((date(2022, 6, 1), 20),),  # PDPA s.20: minors until 20
    "TR": ((date(2016, 4, 7), 18),),
    "VN": ((date(2026, 1, 1), 16),),  # PDP Law: under 16, the legal representative
    "ZA": ((date(2020, 7, 1), 18),),  # POPIA s.35
}
ECA_DIGITAL = date(2026, 3, 17)  # Brazil: social accounts up to 16 linked to a guardian


def statutory_age(code: str, age: int, day: date) -> int | None:
    """The statutory consent age the reference gives `code` for a person of `age` on `day`."""
    if code in EEA_NATIONAL:
        national, since = EEA_NATIONAL[code]
        return national if day >= since else GDPR_ART8_DEFAULT
    if code in FIXED:
        return FIXED[code]
    if code == "CA-QC":
        return 14 if day >= QUEBEC_LAW25_S41 else None
    if code in US_PLACES:
        if age < COPPA_AGE:
            return COPPA_AGE if day >= COPPA_START else None
        law = US_STATE_LAW_START.get(code)
        return COPPA_AGE if law is not None and day >= law else None
    steps = [value for since, value in WORLD[code] if day >= since]
    if not steps:
        return None
    if code == "BR" and day >= ECA_DIGITAL and raw_policy()["online_platform"]:
        return 17  # "de até 16 anos", the stricter reading: a parent below 17
    if code == "CL":
        return 14 if age < 14 else 16
    return steps[-1]


def expected_consent_by(code: str, age: int, day: date, context: str) -> str:
    """Who consents below the consent age (legal-reference-us/-world `consent_by`)."""
    if context == "school" and code in US_PLACES and age < COPPA_AGE and day >= COPPA_START:
        return "school"  # FTC COPPA FAQ N: the school consents for the educational purpose
    if code == "FR" and day >= EEA_NATIONAL["FR"][1]:
        return "parent_and_child"  # Loi Informatique et Libertés art. 45: jointly under 15
    if code == "TH" and day >= date(2022, 6, 1) and age >= 10:
        return "parent_and_child"  # PDPA s.20: the minor and the parent both consent
    if code == "VN" and day >= date(2026, 1, 1) and age >= 7:
        return "parent_and_child"  # from 7, the child and the representative
    return "parent"


# -- the resolution spec (design.md API contract, legal-reference.md §11.1) ---------------

KNOWN = {*EEA_NATIONAL, *FIXED, "CA-QC", *US_PLACES, *WORLD}
MODELLED = KNOWN
ALIASES = {"UK": "GB", "EL": "GR", "EU": "EEA", "CALIFORNIA": "US-CA"}
# Places that are legally part of a modelled one (jurisdictions.yaml `territories`).
TERRITORIES = {
    **dict.fromkeys(("AX", "FI-01"), "FI"),
    **dict.fromkeys(("RE", "GP", "MQ", "GF", "YT", "MF", "FR-RE", "FR-GP", "FR-MQ", "FR-GF",
                     "FR-YT", "FR-MF", "FR-971", "FR-972", "FR-973", "FR-974", "FR-976",
                     "FR-978"), "FR"),
    **dict.fromkeys(("PR", "GU", "VI", "AS", "MP", "UM", "US-PR", "US-GU", "US-VI", "US-AS",
                     "US-MP", "US-UM"), "US"),
}
ISO_COUNTRY = re.compile(r"^[A-Z]{2}$")
ISO_SUBDIVISION = re.compile(r"^([A-Z]{2})-([A-Z0-9]{1,3})$")


def own_match(code: str) -> str:
    if code == "DEFAULT":
        return "default"
    if code == "EEA":
        return "region"
    return "subdivision" if "-" in code else "country"


def expected_resolution(raw: str | None) -> tuple[str, str] | None:
    """(code, matched) `raw` must resolve to, or None where it must be refused as malformed."""
    if raw is None or not raw.strip():
        return ("DEFAULT", "default")
    text = raw.strip()
    if not text.isascii() or len(text) > 64:
        return None
    key = text.upper().replace("_", "-")
    if key in KNOWN:
        return (key, own_match(key))
    if key in TERRITORIES:
        return (TERRITORIES[key], "territory")
    if key in ALIASES:
        return (ALIASES[key], "region" if ALIASES[key] == "EEA" else "alias")
    if ISO_COUNTRY.match(key):
        return ("DEFAULT", "default")
    sub = ISO_SUBDIVISION.match(key)
    if sub:
        country = ALIASES.get(sub.group(1), sub.group(1))
        if country in TERRITORIES:  # PR-XX is in Puerto Rico, so in the United States
            return (TERRITORIES[country], "territory")
        return (country, own_match(country)) if country in KNOWN else ("DEFAULT", "default")
    return None


def expected_code(raw: str | None) -> str | None:
    resolution = expected_resolution(raw)
    return resolution[0] if resolution else None


STATUS_RANK = {"blocked": 0, "parental_consent_required": 1, "allowed": 2}
STATUSES = {"allowed", "parental_consent_required", "blocked", "age_required"}
LEGAL_STATUSES = {"verified", "verified_secondary", "partially_verified", "unverified", "disputed",
                  "policy"}
CONSENTERS = {"parent", "parent_and_child", "school"}
CONTEXTS = ("consumer", "school")
EPOCH = date(1970, 1, 1)
GPC_OPT_OUTS = ("sale_sharing", "targeted_advertising")
CONSENT_FIELDS = ("consent_by", "consent_rule", "consent_basis")

# -- the session's snapshot, and the rule files read independently ----------------------


class _QuietSnapshot:
    """The snapshot with a short repr. Hypothesis prints every argument of a falsifying
    example, fixtures included, and the full repr of all decision tables is tens of
    megabytes: the warning about it (an error here) would hide the real failure."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def __getattr__(self, name: str) -> Any:
        return getattr(self._snapshot, name)

    def __repr__(self) -> str:
        return f"<Snapshot {self._snapshot.version}>"


@pytest.fixture(scope="module")
def snap(snapshot: Snapshot) -> Snapshot:
    return _QuietSnapshot(snapshot)  # type: ignore[return-value]


@cache
def raw_policy() -> dict:
    return yaml.safe_load((RULES_DIR / "policy.yaml").read_text(encoding="utf-8"))


def minimum_age(context: str) -> int:
    policy = raw_policy()
    if context == "school":
        return policy.get("minimum_signup_age_in_school_context", policy["minimum_signup_age"])
    return policy["minimum_signup_age"]


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
def raw_frameworks() -> dict[str, dict]:
    """Each framework's own dates and the frameworks it steps in for (`replaces`)."""
    out = {}
    for path in sorted((RULES_DIR / "frameworks").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        out[data["framework"]] = {"from": data.get("effective_from"),
                                  "until": data.get("effective_until"),
                                  "replaces": tuple(data.get("replaces", ()))}
    return out


@cache
def raw_rules() -> tuple[dict, ...]:
    """Every rule of frameworks/*.yaml as plain data, with its framework and effect slots.

    A rule is in force inside its own dates and its framework's (the top of the file)."""
    out = []
    for path in sorted((RULES_DIR / "frameworks").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for rule in data["rules"]:
            then = rule["then"]
            slots = {("age_gate", "age_gate")} if "age_gate" in then else set()
            for section, kind in (("rights", "right"), ("opt_outs", "opt_out"), ("notices", "notice")):
                slots |= {(kind, item["id"]) for item in then.get(section, ())}
            where = (rule.get("when") or {}).get("jurisdiction", ())
            starts = [d for d in (rule.get("effective_from"), data.get("effective_from")) if d]
            ends = [d for d in (rule.get("effective_until"), data.get("effective_until")) if d]
            out.append({
                "id": rule["id"], "framework": data["framework"], "slots": frozenset(slots),
                "places": (where,) if isinstance(where, str) else tuple(where),
                "from": max(starts) if starts else None, "until": min(ends) if ends else None,
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


def frameworks_starting(code: str, day: date) -> set[str]:
    out = set()
    for fw in place_frameworks(code):
        info = raw_frameworks().get(fw, {})
        if day in {info.get("from"), info["until"] + timedelta(days=1) if info.get("until") else None}:
            out.add(fw)
    return out


def slots_changing_on(code: str, day: date) -> set[tuple[str, str]]:
    slots: set[tuple[str, str]] = set()
    for rule in raw_rules():
        if reaches(rule, code) and day in starts_of(rule):
            slots |= rule["slots"]
    starting = frameworks_starting(code, day)
    # A law that starts replaces the DEFAULT baseline (`replaces`): its slots change too.
    replaced = {t for fw in starting for t in raw_frameworks()[fw]["replaces"]}
    for rule in raw_rules():
        if rule["framework"] in replaced and reaches(rule, code):
            slots |= rule["slots"]
    if starting:
        # The customer's GPC policy steps back where a law starts to speak about GPC.
        slots |= {("opt_out", o) for o in GPC_OPT_OUTS} | {("notice", "gpc_status")}
    if ("age_gate", "age_gate") in slots:
        slots.add(("notice", "parental_consent"))
    return slots


def plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    return value


def by_slot(decision: Any, without_consent: bool = False) -> dict[tuple[str, str], Any]:
    """Every item of a decision by (kind, id). `without_consent` drops who consents to an
    opt-in: it follows the age gate, so it changes wherever the age gate does."""
    out = {("age_gate", "age_gate"): plain(decision.age_gate)}
    for kind, items in (("right", decision.rights), ("opt_out", decision.opt_outs),
                        ("notice", decision.notices)):
        for item in items:
            entry = plain(item)
            if without_consent and kind == "opt_out":
                entry = {k: v for k, v in entry.items() if k not in CONSENT_FIELDS}
            out[(kind, item["id"])] = entry
    return out


def compute_age(birthdate: date, on: date) -> int:
    """Completed years on `on` (someone born on 29 February turns a year older on 1 March)."""
    return on.year - birthdate.year - ((on.month, on.day) < (birthdate.month, birthdate.day))


def modelled_day(code: str, day: date) -> date:
    """`day`, moved up to the first day the place is modelled (earlier days raise)."""
    floor = SUPPORTED_FROM.get(code)
    return max(day, floor) if floor else day


# -- strategies --------------------------------------------------------------------------

CODES = sorted(KNOWN)
ages = st.none() | st.integers(0, 130)
days = st.dates(date(1990, 1, 1), date(2035, 12, 31))
gpcs = st.booleans()
contexts = st.sampled_from(CONTEXTS)
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
territory_inputs = st.sampled_from(sorted(TERRITORIES)).flatmap(spelt)
two_letters = st.text(string.ascii_uppercase, min_size=2, max_size=2)
unmodelled_countries = two_letters.filter(lambda c: c not in KNOWN and c not in ALIASES
                                          and c not in TERRITORIES)
subdivisions = st.builds(lambda c, s: f"{c}-{s}", two_letters,
                         st.text(string.ascii_uppercase + string.digits, min_size=1, max_size=3)
                         ).filter(lambda c: c not in KNOWN and c not in TERRITORIES)
unmodelled_inputs = (st.sampled_from(("ZZ", "CA-ON", "DE-BY", "US-ZZ", "GB-SCT", "EL-I", "FR-75",
                                      "PR-SJ", "BQ", "NC", "FI-02"))
                     | unmodelled_countries | subdivisions).flatmap(spelt)
well_formed_inputs = modelled_inputs | alias_inputs | territory_inputs | unmodelled_inputs
any_inputs = well_formed_inputs | st.text(max_size=80) | st.none()
# What a request names, weighted towards modelled places; decisions are looked up for
# whatever it resolves to, as the API does.
places = modelled_inputs | modelled_inputs | alias_inputs | territory_inputs | unmodelled_inputs | st.none()

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
    assert dict(snap.territories) == TERRITORIES
    assert {code: t.supported_from for code, t in snap.tables.items() if t.supported_from} == SUPPORTED_FROM


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
    assert resolution.matched in {"subdivision", "country", "alias", "region", "territory", "default"}


@CHEAP
@given(raw=well_formed_inputs)
@example(raw="re")
@example(raw="fr_974")
@example(raw="PR-SJ")
@example(raw="us-tx")
@example(raw="US")
def test_well_formed_input_always_resolves(snap: Snapshot, raw: str) -> None:
    resolution = snap.resolve(raw)
    assert (resolution.code, resolution.matched) == expected_resolution(raw)
    assert (resolution.matched == "default") == (resolution.code == "DEFAULT")
    assert resolution.requested == raw.strip()


@CHEAP
@given(raw=any_inputs)
@example(raw="ıt")  # dotless i: "ıt".upper() == "IT"
@example(raw="ß")  # "ß".upper() == "SS"
@example(raw="ﬁ")  # the ligature: "ﬁ".upper() == "FI"
def test_resolution_follows_the_spec(snap: Snapshot, raw: str | None) -> None:
    """ISO codes are ASCII: non-ASCII letters that upper-case into a code are malformed."""
    expected = expected_resolution(raw)
    if expected is None:
        with pytest.raises(InvalidJurisdiction):
            snap.resolve(raw)
    else:
        resolution = snap.resolve(raw)
        assert (resolution.code, resolution.matched) == expected


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


# -- dates before a place is modelled ------------------------------------------------------


@CHEAP
@given(code=codes, age=ages, gpc=gpcs, context=contexts, day=st.dates(date(1900, 1, 1), date(2035, 12, 31)))
@example(code="DE", age=30, gpc=False, context="consumer", day=date(2017, 1, 1))
@example(code="DE", age=30, gpc=False, context="consumer", day=date(2018, 5, 24))
@example(code="CH", age=30, gpc=True, context="school", day=date(1993, 6, 30))
def test_a_day_before_every_law_of_the_place_is_not_modelled(snap: Snapshot, code: str, age: int | None,
                                                             gpc: bool, context: str, day: date) -> None:
    """Before the place's earliest law the engine refuses, naming that day; from it, it answers."""
    floor = SUPPORTED_FROM.get(code)
    if floor is not None and day < floor:
        with pytest.raises(DateNotModelled) as info:
            snap.decide(code, age, gpc, day, context)
        assert info.value.earliest == floor
        assert info.value.code == code
        assert floor.isoformat() in str(info.value)
    else:
        assert snap.decide(code, age, gpc, day, context).jurisdiction == code


# -- the age gate ------------------------------------------------------------------------


@MANY
@given(place=places, age=ages, gpc=gpcs, day=days, context=contexts)
def test_exactly_one_age_gate_outcome(snap: Snapshot, place: str | None, age: int | None, gpc: bool,
                                      day: date, context: str) -> None:
    code = snap.resolve(place).code
    decision = snap.decide(code, age, gpc, modelled_day(code, day), context)
    gates = [effect for kind, effect in decision.effects() if kind == "age_gate"]
    assert len(gates) == 1
    gate = gates[0]
    status = gate["status"]
    minimum = minimum_age(context)
    assert status in STATUSES
    assert gate["minimum_age"] == minimum
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
        assert gate["consent_by"] in CONSENTERS


def _check_against_reference(snap: Snapshot, code: str, age: int, day: date, gpc: bool,
                             context: str) -> None:
    gate = snap.decide(code, age, gpc, day, context).age_gate
    minimum = minimum_age(context)
    statutory = statutory_age(code, age, day)
    consent_age = statutory if statutory is not None else raw_policy()["consent_age_where_law_is_silent"]
    if age < minimum:
        expected = "blocked"
    elif age < consent_age:
        expected = "parental_consent_required"
    else:
        expected = "allowed"
    got = (gate["status"], gate["digital_consent_age"] if expected != "blocked" else statutory)
    assert got == (expected, statutory), (
        f"{code} age {age} on {day} ({context}): the engine says {gate['status']} with "
        f"digital_consent_age {gate['digital_consent_age']} ({gate['rule']}); the reference says "
        f"{expected} with statutory age {statutory} (consent age {consent_age})")
    if expected != "blocked":
        assert gate["basis"] == ("law" if statutory is not None else "policy"), (code, age, day, gate)
    if expected == "parental_consent_required":
        assert gate["consent_by"] == expected_consent_by(code, age, day, context), (code, age, day, context)


def probe_days(code: str) -> list[date]:
    """Each day the place's law changes and the day before it, from the first modelled day."""
    floor = SUPPORTED_FROM.get(code)
    out = {floor or date(2015, 1, 1)}
    for start in boundaries(code):
        out |= {start, start - timedelta(days=1)}
    return sorted(d for d in out if floor is None or d >= floor)


@pytest.mark.parametrize("code", CODES)
def test_age_gate_matches_the_legal_reference(snap: Snapshot, code: str) -> None:
    """Every age, both GPC values, both contexts, each date interval: the status the reference implies."""
    for day in probe_days(code):
        for context in CONTEXTS:
            for gpc in (False, True):
                for age in range(131):
                    _check_against_reference(snap, code, age, day, gpc, context)


@MANY
@given(birthdate=st.dates(date(1895, 1, 1), date(2035, 12, 31)), first=days, later=days,
       place=places, gpc=gpcs, context=contexts)
@example(birthdate=date(2012, 2, 29), first=date(2025, 2, 28), later=date(2025, 3, 1), place="us-tx",
         gpc=False, context="consumer")
def test_growing_older_never_makes_the_age_gate_stricter(snap: Snapshot, birthdate: date, first: date,
                                                         later: date, place: str | None,
                                                         gpc: bool, context: str) -> None:
    """A person's birthdate, seen on two days: the later age gate is never stricter."""
    code = snap.resolve(place).code
    first, later = sorted((modelled_day(code, first), modelled_day(code, later)))
    assume(birthdate <= first and compute_age(birthdate, later) <= 130)
    gate_days = {d for r in raw_rules() if reaches(r, code) and ("age_gate", "age_gate") in r["slots"]
                 for d in starts_of(r)}
    gate_days |= {d for d in boundaries(code) if frameworks_starting(code, d)}
    assume(not any(first < d <= later for d in gate_days))
    before = snap.decide(code, compute_age(birthdate, first), gpc, first, context).age_gate["status"]
    after = snap.decide(code, compute_age(birthdate, later), gpc, later, context).age_gate["status"]
    assert STATUS_RANK[before] <= STATUS_RANK[after], f"{before} at {first} but {after} at {later}"


@settings(max_examples=40, deadline=None)
@given(day=days, context=contexts)
@example(day=date(2025, 6, 23), context="consumer")
@example(day=date(2026, 11, 22), context="school")
def test_default_is_at_least_as_protective_as_any_digital_age_of_consent(snap: Snapshot, day: date,
                                                                         context: str) -> None:
    """At every age, DEFAULT (and bare US) need parental consent wherever a modelled place's
    digital age of consent (at most 16, GDPR Art. 8(1)) does. Places whose civil majority
    (18, 20) decides are stricter than any digital age and are left out of the comparison."""
    stricter = {"parental_consent_required", "blocked"}
    policy_age = raw_policy()["consent_age_where_law_is_silent"]
    assert policy_age >= DIGITAL_CONSENT_AGE_MAX
    for age in range(131):
        regimes = {code: snap.decide(code, age, False, day, context).age_gate for code in ("DEFAULT", "US")}
        for name, fallback in regimes.items():
            if minimum_age(context) <= age < DIGITAL_CONSENT_AGE_MAX:
                assert fallback["status"] == "parental_consent_required", (name, age)
        for code in sorted(MODELLED - {"DEFAULT"}):
            floor = SUPPORTED_FROM.get(code)
            if floor is not None and day < floor:
                continue
            gate = snap.decide(code, age, False, day, context).age_gate
            if age is not None and gate["status"] != "blocked" and \
                    applicable_consent_age(snap, gate) > DIGITAL_CONSENT_AGE_MAX:
                continue
            for name, fallback in regimes.items():
                if gate["status"] in stricter:
                    assert fallback["status"] in stricter, (
                        f"{code} needs {gate['status']} at {age}, {name} says {fallback['status']}")
                if gate["status"] == "blocked":
                    assert fallback["status"] == "blocked"


@pytest.mark.parametrize("state", sorted(US_BASELINE_STATES - {"US-IL", "US-NY"}))
def test_states_without_a_law_answer_as_the_united_states(snap: Snapshot, state: str) -> None:
    """A state with no law of its own inherits the federal baseline, under its own code."""
    assert snap.tables[state].jurisdiction.frameworks == snap.tables["US"].jurisdiction.frameworks
    assert snap.resolve(state.lower()).matched == "subdivision"
    for day in probe_days("US"):
        for context in CONTEXTS:
            for gpc in (False, True):
                for age in (None, 0, 4, 5, 12, 13, 15, 16, 17, 18, 40):
                    mine = snap.decide(state, age, gpc, day, context)
                    federal = snap.decide("US", age, gpc, day, context)
                    assert mine.jurisdiction == state
                    assert by_slot(mine) == by_slot(federal), (state, age, day, context)


# -- opt-ins, prohibitions and GPC -------------------------------------------------------------


def _check_opt_outs(snap: Snapshot, decision: Any, age: int | None) -> None:
    """Who consents, what is prohibited, and when GPC is reported, for one decision."""
    gate = decision.age_gate
    below_consent_age = (age is not None and gate["status"] != "allowed"
                         and age < applicable_consent_age(snap, gate))
    for opt in decision.opt_outs:
        assert opt["mechanism"] in ("opt_in", "opt_out", "prohibited"), opt
        assert opt["default"] in ("on", "off"), opt
        if opt["mechanism"] == "prohibited":
            # Not allowed at all for this person: always off, and no signal "turned it off".
            assert opt["default"] == "off", opt
            assert opt["gpc_applied"] is False, opt
        if opt["gpc_applied"]:
            assert opt["default"] == "off", opt
        if opt["mechanism"] == "opt_in":
            assert opt["consent_by"] in {"person", *CONSENTERS}, opt
            if below_consent_age:
                assert opt["consent_by"] != "person", (decision.jurisdiction, age, opt)
            if "consent_rule" in opt and gate["status"] == "parental_consent_required":
                # Taken from the age gate (an item whose own law names who consents keeps it;
                # below the minimum signup age the gate is the policy's block, and the opt-in
                # names the law's consenting party and rule instead).
                assert opt["consent_by"] == gate["consent_by"], (opt, gate)
                assert opt["consent_rule"] == gate["rule"], (opt, gate)
                assert (opt.get("consent_basis") == "policy") == (gate["basis"] == "policy"), (opt, gate)
    applied = any(opt["gpc_applied"] for opt in decision.opt_outs)
    notices = {n["id"] for n in decision.notices}
    if "gpc_status" in notices:
        assert applied, f"{decision.jurisdiction}: GPC notice but GPC changed nothing"
    if applied and not (decision.jurisdiction == "US-CA" and decision.valid_from is not None
                        and decision.valid_from < date(2026, 1, 1)):
        # California's own GPC notice starts on 1 January 2026 (11 CCR § 7025 as amended).
        assert "gpc_status" in notices, f"{decision.jurisdiction}: GPC applied but not reported"


@MANY
@given(place=places, age=ages, gpc=gpcs, day=days, context=contexts)
@example(place="us-ca", age=15, gpc=True, day=date(2026, 6, 1), context="consumer")
@example(place="us-ca", age=30, gpc=True, day=date(2026, 6, 1), context="school")
@example(place="de", age=14, gpc=False, day=date(2026, 6, 1), context="consumer")
def test_opt_ins_prohibitions_and_the_gpc_notice(snap: Snapshot, place: str | None, age: int | None,
                                                 gpc: bool, day: date, context: str) -> None:
    """Below the consent age no opt-in is the person's alone; prohibited items are always off
    and never GPC-applied; the GPC notice appears exactly when GPC turned something off."""
    code = snap.resolve(place).code
    _check_opt_outs(snap, snap.decide(code, age, gpc, modelled_day(code, day), context), age)


@MANY
@given(place=places, age=ages, day=days, context=contexts)
@example(place="us-ca", age=15, day=date(2026, 6, 1), context="consumer")
@example(place="us-ca", age=12, day=date(2025, 6, 1), context="consumer")
def test_gpc_never_turns_an_opt_out_back_on(snap: Snapshot, place: str | None, age: int | None,
                                            day: date, context: str) -> None:
    """GPC only ever turns things off, and says it applied exactly where it turned one off."""
    code = snap.resolve(place).code
    day = modelled_day(code, day)
    without = {o["id"]: o for o in snap.decide(code, age, False, day, context).opt_outs}
    with_gpc = {o["id"]: o for o in snap.decide(code, age, True, day, context).opt_outs}
    for opt_id, off_decision in without.items():
        assert opt_id in with_gpc, f"GPC removed the opt-out {opt_id}"
        assert off_decision["gpc_applied"] is False
        if off_decision["default"] == "off":
            assert with_gpc[opt_id]["default"] == "off", f"GPC turned {opt_id} on in {code}"
    for opt_id, on_decision in with_gpc.items():
        if on_decision["default"] == "on":
            assert without.get(opt_id, {}).get("default") == "on"
        was_on = without.get(opt_id, {}).get("default") == "on"
        assert on_decision["gpc_applied"] is (was_on and on_decision["default"] == "off"), (
            f"{code} age {age} on {day} ({context}): {opt_id} was "
            f"{'on' if was_on else 'off'} without GPC, gpc_applied={on_decision['gpc_applied']}")


CCPA_START = date(2020, 1, 1)
# When California law makes GPC an opt-out of each item: the AG regulations (sale), then § 7025.
CALIFORNIA_GPC_FROM = {"sale_sharing": date(2020, 8, 14), "targeted_advertising": date(2023, 1, 1)}


@MANY
@given(age=ages, day=days)
@example(age=30, day=date(2025, 12, 31))
@example(age=30, day=date(2026, 1, 1))
@example(age=15, day=date(2026, 1, 1))
def test_gpc_opts_out_of_sale_and_sharing_in_california(snap: Snapshot, age: int | None,
                                                        day: date) -> None:
    code = snap.resolve("us-ca").code
    without = {o["id"]: o for o in snap.decide(code, age, False, day).opt_outs}
    opt_outs = {o["id"]: o for o in snap.decide(code, age, True, day).opt_outs}
    changed = False
    for opt_id in GPC_OPT_OUTS:
        if opt_id not in without:  # "sharing" (targeted advertising) is a CPRA item, from 2023
            assert opt_id not in opt_outs
            continue
        if day < CCPA_START:
            honoured = raw_policy()["honour_gpc_outside_california"]  # no CCPA yet: the policy
        else:
            honoured = day >= CALIFORNIA_GPC_FROM[opt_id]
        if honoured:
            assert opt_outs[opt_id]["default"] == "off"
        was_on = without[opt_id]["default"] == "on"
        assert opt_outs[opt_id]["gpc_applied"] is (was_on and honoured), (
            f"{opt_id} at age {age} on {day}: {'on' if was_on else 'off'} without GPC, "
            f"gpc_applied={opt_outs[opt_id]['gpc_applied']}")
        changed = changed or (was_on and honoured)
    notices = {n["id"] for n in snap.decide(code, age, True, day).notices}
    notice_due = day >= date(2026, 1, 1) if day >= CCPA_START else True  # 11 CCR § 7025 as amended
    assert ("gpc_status" in notices) == (changed and notice_due)


@MANY
@given(code=st.sampled_from(sorted(KNOWN - {"US-CA"})), age=ages, day=days, context=contexts)
@example(code="US-TX", age=12, day=date(2025, 3, 1), context="consumer")  # tdpsa.gpc, opt-in already off
@example(code="US-CO", age=15, day=date(2025, 3, 1), context="consumer")
@example(code="DE", age=30, day=date(2026, 6, 1), context="consumer")
def test_gpc_outside_california_follows_the_policy(snap: Snapshot, code: str, age: int | None,
                                                   day: date, context: str) -> None:
    day = modelled_day(code, day)
    without = snap.decide(code, age, False, day, context)
    with_gpc = snap.decide(code, age, True, day, context)
    assert "gpc_status" not in {n["id"] for n in without.notices}
    if not raw_policy()["honour_gpc_outside_california"]:
        return
    before = {o["id"]: o for o in without.opt_outs}
    changed = False
    for opt in with_gpc.opt_outs:
        if opt["id"] not in GPC_OPT_OUTS:
            continue
        assert opt["default"] == "off"
        # The signal is "applied" exactly where it turned something off (finding 7).
        was_on = before[opt["id"]]["default"] == "on"
        assert opt["gpc_applied"] is was_on, (
            f"{code} age {age} on {day} ({context}): {opt['id']} was {'on' if was_on else 'off'} "
            f"without GPC, gpc_applied={opt['gpc_applied']} ({opt['rule']})")
        changed = changed or was_on
    # The GPC notice appears only when the signal changed something for this person.
    assert ("gpc_status" in {n["id"] for n in with_gpc.notices}) == changed


# -- effects -----------------------------------------------------------------------------


_RULE_IDS: dict[int, frozenset[str]] = {}


def _rule_ids(snap: Snapshot) -> frozenset[str]:
    """The rule ids of a snapshot, built once (the exhaustive sweep asks many times)."""
    ids = _RULE_IDS.get(id(snap.ruleset))
    if ids is None:
        ids = _RULE_IDS[id(snap.ruleset)] = frozenset(rule.id for rule in snap.ruleset.rules)
    return ids


def _check_cited(snap: Snapshot, decision: Any) -> None:
    rule_ids = _rule_ids(snap)
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
@given(place=places, age=ages, gpc=gpcs, day=days, context=contexts)
def test_every_effect_is_cited(snap: Snapshot, place: str | None, age: int | None, gpc: bool,
                               day: date, context: str) -> None:
    code = snap.resolve(place).code
    _check_cited(snap, snap.decide(code, age, gpc, modelled_day(code, day), context))


@MANY
@given(place=places, age=ages, gpc=gpcs, day=days, context=contexts)
def test_no_contradictory_effects(snap: Snapshot, place: str | None, age: int | None, gpc: bool,
                                  day: date, context: str) -> None:
    code = snap.resolve(place).code
    decision = snap.decide(code, age, gpc, modelled_day(code, day), context)
    _check_unique(decision)
    for opt in decision.opt_outs:
        assert opt["mechanism"] in ("opt_in", "opt_out", "prohibited")
        assert opt["default"] in ("on", "off")


# -- dates -------------------------------------------------------------------------------


def test_decisions_change_only_on_rule_boundaries(snap: Snapshot) -> None:
    """The engine's date intervals are exactly the rules' effective_from/until boundaries
    after the place's first modelled day (the interval before that day is refused)."""
    for code, table in snap.tables.items():
        floor = SUPPORTED_FROM.get(code)
        expected = {floor or EPOCH, *(d for d in boundaries(code) if floor is None or d > floor)}
        assert set(table.axes.day_starts) == expected, code


@CHEAP
@given(place=places, age=ages, gpc=gpcs, day=days, context=contexts)
def test_a_day_changes_only_what_its_rules_say(snap: Snapshot, place: str | None, age: int | None, gpc: bool,
                                                day: date, context: str) -> None:
    code = snap.resolve(place).code
    day = modelled_day(code, day)
    after = day + timedelta(days=1)
    allowed = slots_changing_on(code, after)
    gate_changes = ("age_gate", "age_gate") in allowed
    before_slots = by_slot(snap.decide(code, age, gpc, day, context), without_consent=gate_changes)
    after_slots = by_slot(snap.decide(code, age, gpc, after, context), without_consent=gate_changes)
    changed = {s for s in before_slots.keys() | after_slots.keys()
               if before_slots.get(s) != after_slots.get(s)}
    assert changed <= allowed, f"{code}: {sorted(changed - allowed)} changed from {day} to {after}"


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
    allowed = slots_changing_on(code, first_day)
    gate_changes = ("age_gate", "age_gate") in allowed
    for age in (None, 0, 12, 13, 15, 16, 17, 18, 40, 130):
        for gpc in (False, True):
            for context in CONTEXTS:
                on_eve = by_slot(snap.decide(code, age, gpc, eve, context), gate_changes)
                on_day = by_slot(snap.decide(code, age, gpc, first_day, context), gate_changes)
                assert (kind, item) not in on_eve, f"{item} already on {eve}"
                assert (kind, item) in on_day, f"{item} missing on {first_day}"
                changed = {s for s in on_eve.keys() | on_day.keys() if on_eve.get(s) != on_day.get(s)}
                assert changed <= allowed, (context, age, sorted(changed - allowed))


def test_uk_cookie_exemptions_start_on_5_february_2026(snap: Snapshot) -> None:
    eve = snap.decide("GB", 30, False, date(2026, 2, 4))
    day = snap.decide("GB", 30, False, date(2026, 2, 5))
    cookies_eve = {o["id"]: o for o in eve.opt_outs}["cookies"]
    cookies_day = {o["id"]: o for o in day.opt_outs}["cookies"]
    assert "exemptions" not in cookies_eve
    assert "statistics" in cookies_day["exemptions"]
    assert cookies_day["mechanism"] == cookies_eve["mechanism"] == "opt_in"


# -- exhaustive --------------------------------------------------------------------------


@pytest.mark.slow
def test_exhaustive_every_jurisdiction_age_gpc_context_and_boundary(snap: Snapshot) -> None:
    """Every jurisdiction x age 0-130 and none x GPC x context x each date boundary and the
    day before (and the day before the first modelled day, which must be refused)."""
    checked = 0
    seen: set[tuple[int, int | None]] = set()
    for code, table in snap.tables.items():
        floor = SUPPORTED_FROM.get(code)
        days_ = {floor or date(2015, 1, 1)}
        for start in {*table.axes.day_starts[1:], *boundaries(code)}:
            days_ |= {start, start - timedelta(days=1)}
        if floor is not None:
            days_.add(floor - timedelta(days=1))
        for day in sorted(days_):
            for context in CONTEXTS:
                for gpc in (False, True):
                    if floor is not None and day < floor:
                        with pytest.raises(DateNotModelled):
                            snap.decide(code, 30, gpc, day, context)
                        continue
                    rank = -1
                    for age in [None, *range(131)]:
                        decision = snap.decide(code, age, gpc, day, context)
                        status = decision.age_gate["status"]
                        assert status in STATUSES
                        assert (status == "age_required") == (age is None)
                        if age is not None:
                            assert STATUS_RANK[status] >= rank, f"{code} stricter at {age} than below"
                            rank = STATUS_RANK[status]
                        assert decision.jurisdiction == code
                        assert decision.age_range[0] is None or decision.age_range[0] <= age
                        # A precomputed decision is shared by its whole class: check its
                        # content once per (decision, age) pair that can tell them apart.
                        key = (id(decision), age if status != "allowed" else -1)
                        if key not in seen:
                            seen.add(key)
                            _check_unique(decision)
                            _check_cited(snap, decision)
                            _check_opt_outs(snap, decision, age)
                        checked += 1
    assert checked >= len(snap.tables) * 132 * 2 * 2


def test_gpc_never_turns_an_opt_out_back_on_in_any_class(snap: Snapshot) -> None:
    """Every precomputed class: its GPC twin never has an opt-out on that was off without GPC,
    and says GPC applied exactly where it turned an opt-out off."""
    pairs = 0
    for code, table in snap.tables.items():
        for (band, gpc, interval, context), decision in table.decisions.items():
            if gpc:
                continue
            twin = table.decisions[(band, True, interval, context)]
            with_gpc = {o["id"]: o for o in twin.opt_outs}
            for opt in decision.opt_outs:
                where = (code, band, interval, context, opt["id"])
                assert opt["id"] in with_gpc, where
                if opt["default"] == "off":
                    assert with_gpc[opt["id"]]["default"] == "off", where
                turned_off = opt["default"] == "on" and with_gpc[opt["id"]]["default"] == "off"
                assert with_gpc[opt["id"]]["gpc_applied"] is turned_off, where
            pairs += 1
    assert pairs == sum(len(t.decisions) for t in snap.tables.values()) // 2


def test_every_unmodelled_country_gets_the_default_regime(snap: Snapshot) -> None:
    territories = sorted(t for t in Locale("en").territories if len(t) == 2 and t.isalpha())
    assert len(territories) > 240
    for territory in territories:
        for spelling in (territory, territory.lower()):
            resolution = snap.resolve(spelling)
            if territory in KNOWN or territory in ALIASES or territory in TERRITORIES:
                assert (resolution.code, resolution.matched) == expected_resolution(territory)
            else:
                assert (resolution.code, resolution.matched) == ("DEFAULT", "default"), territory
    for raw in ("", "   ", None):
        resolution = snap.resolve(raw)
        assert (resolution.code, resolution.matched) == ("DEFAULT", "default")
    # The United States is modelled now: the federal baseline, each state under its own code.
    for raw, code, matched in (("US", "US", "country"), ("us-tx", "US-TX", "subdivision"),
                               ("US_NY", "US-NY", "subdivision"), ("pr", "US", "territory")):
        resolution = snap.resolve(raw)
        assert (resolution.code, resolution.matched) == (code, matched)
        assert "default" in snap.tables[resolution.code].jurisdiction.frameworks
