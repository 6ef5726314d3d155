"""Checks that look across rule files: ids, codes, references, texts, policy.

Contradictions and gaps need every input class evaluated, so they are found by the
compiler (`compiler.py`) with the same kind of located, plain-words problem.
"""

from __future__ import annotations

import re
from collections import Counter

from .errors import ProblemList
from .model import AGE_GATE_STATUSES, GATE_TEXT_BY_CONSENT, Effect, Location, Rule, RuleSet
from .suggest import did_you_mean

PLACEHOLDER_RE = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)\}")


def placeholders_in(text: str) -> set[str]:
    """Return the {names} used in a catalogue text."""
    return set(PLACEHOLDER_RE.findall(text))


def _check_catalog(ruleset: RuleSet, problems: ProblemList) -> None:
    for entry in ruleset.catalog.values():
        for text in (entry.title, entry.text):
            _check_data_in_text(entry.location, f"{entry.kind} '{entry.id}'", text, problems)
        used = placeholders_in(entry.title) | placeholders_in(entry.text)
        declared = set(entry.placeholders)
        for name in sorted(used - declared):
            problems.add(entry.location.file, entry.location.line,
                         f"{entry.kind} '{entry.id}': placeholder {{{name}}} is not declared",
                         f"add it to `placeholders: [{', '.join(sorted(used))}]`", code="text")
        for name in sorted(declared - used):
            problems.add(entry.location.file, entry.location.line,
                         f"{entry.kind} '{entry.id}': placeholder '{name}' is declared but not used",
                         "remove it from `placeholders`", code="text")
    for status in (*AGE_GATE_STATUSES, *GATE_TEXT_BY_CONSENT.values()):
        if ("age_gate", status) not in ruleset.catalog:
            problems.add("catalog.yaml", None, f"age_gate '{status}' has no English text",
                         "add a title and text under age_gate:", code="text")


def _check_jurisdictions(ruleset: RuleSet, problems: ProblemList) -> None:
    for jur in ruleset.jurisdictions.values():
        for fw in jur.frameworks:
            if fw not in ruleset.frameworks:
                problems.add(jur.location.file, jur.location.line,
                             f"{jur.code}: unknown framework '{fw}'",
                             did_you_mean(fw, ruleset.frameworks), code="unknown_id")
    owners: dict[str, str] = {}
    for jur in ruleset.jurisdictions.values():
        for code in jur.territories:
            clash = (owners.get(code) or (code if code in ruleset.jurisdictions else None)
                     or ruleset.aliases.get(code))
            if clash:
                problems.add(jur.location.file, jur.location.line,
                             f"{jur.code}: territory '{code}' is already {clash}",
                             "a code can be one place only", code="duplicate")
            owners[code] = jur.code
    used = {fw for jur in ruleset.jurisdictions.values() for fw in jur.frameworks}
    for fw in ruleset.frameworks.values():
        if fw.id not in used:
            problems.add(fw.location.file, fw.location.line,
                         f"framework '{fw.id}' applies in no jurisdiction, so none of its rules can fire",
                         f"add '{fw.id}' to a jurisdiction's frameworks in jurisdictions.yaml",
                         code="unreachable")
        if ("framework", fw.id) not in ruleset.catalog:
            problems.add(fw.location.file, fw.location.line,
                         f"framework '{fw.id}' has no English title in catalog.yaml",
                         f"add `{fw.id}: {{title: ...}}` under frameworks:", code="text")


def _check_rules(ruleset: RuleSet, problems: ProblemList) -> None:
    counts = Counter(rule.id for rule in ruleset.rules)
    first_seen: dict[str, str] = {}
    rule_ids = set(counts)
    for rule in ruleset.rules:
        loc = rule.location
        _check_status(rule, rule.legal_status, loc, problems)
        _check_data_in_text(loc, f"rule {rule.id}: the citation", rule.citation, problems)
        if counts[rule.id] > 1:
            if rule.id in first_seen:
                problems.add(loc.file, loc.line,
                             f"duplicate rule id '{rule.id}' (also at {first_seen[rule.id]})",
                             "give each rule its own id", code="duplicate")
            else:
                first_seen[rule.id] = str(loc)
        for code in rule.when.jurisdictions:
            jur = ruleset.jurisdictions.get(code)
            if jur is None:
                alias = ruleset.aliases.get(code.upper())
                hint = (f"'{code}' is an alias: write '{alias}'" if alias
                        else did_you_mean(code, ruleset.jurisdictions))
                problems.add(loc.file, loc.line, f"rule {rule.id}: unknown jurisdiction '{code}'",
                             hint, code="unknown_code")
                continue
            reach = [j for j in ruleset.jurisdictions.values()
                     if code in j.path and rule.framework in j.frameworks]
            if not reach:
                problems.add(loc.file, loc.line,
                             f"rule {rule.id}: framework '{rule.framework}' does not apply in {code}, "
                             "so this rule can never fire",
                             f"add '{rule.framework}' to {code}'s frameworks or move the rule",
                             code="unreachable")
        for target in rule.overrides:
            if target not in rule_ids:
                problems.add(loc.file, loc.line, f"rule {rule.id}: overrides unknown rule '{target}'",
                             did_you_mean(target, rule_ids), code="unknown_id")
            elif target == rule.id:
                problems.add(loc.file, loc.line, f"rule {rule.id} overrides itself", code="invalid")
        _check_effects(ruleset, rule, problems)


def _check_effects(ruleset: RuleSet, rule: Rule, problems: ProblemList) -> None:
    seen: dict[tuple[str, str], int | None] = {}
    for effect in rule.effects:
        loc = effect.location
        if effect.slot in seen:
            problems.add(loc.file, loc.line,
                         f"rule {rule.id}: {effect.kind.replace('_', '-')} '{effect.id}' is listed twice "
                         f"(also line {seen[effect.slot]})", "keep one of them", code="duplicate")
        seen[effect.slot] = loc.line
        if effect.kind == "age_gate":
            gate = effect.fields
            if gate.get("status") and rule.when.age is None:
                problems.add(loc.file, loc.line,
                             f"rule {rule.id}: an age_gate with a fixed status needs `when: age:`",
                             "or give only digital_consent_age and let the engine split the ages",
                             code="invalid")
            if rule.when.age is not None and rule.when.age.include_unknown:
                problems.add(loc.file, loc.line,
                             f"rule {rule.id}: an age_gate rule cannot include unknown ages",
                             "remove include_unknown_age", code="invalid")
            if rule.when.gpc is not None:
                problems.add(loc.file, loc.line,
                             f"rule {rule.id}: the age gate may not depend on GPC",
                             "remove `gpc` from when:", code="invalid")
            continue
        if (effect.kind, effect.id) not in ruleset.catalog:
            choices = [i for (k, i) in ruleset.catalog if k == effect.kind]
            problems.add(loc.file, loc.line,
                         f"rule {rule.id}: unknown {effect.kind.replace('_', '-')} id '{effect.id}'",
                         did_you_mean(effect.id, choices) or "add it to catalog.yaml first",
                         code="unknown_id")
        if effect.kind == "opt_out" and not effect.modify:
            for needed in ("mechanism", "default"):
                if needed not in effect.fields:
                    problems.add(loc.file, loc.line,
                                 f"rule {rule.id}: opt-out '{effect.id}' needs `{needed}`",
                                 "or mark it `modify: true` to change an opt-out another rule sets",
                                 code="schema")
        if effect.kind == "right" and effect.id == "complain" and "response" in effect.fields:
            problems.add(loc.file, loc.line,
                         f"rule {rule.id}: 'complain' goes to an authority and has no response deadline",
                         "move it to a rule of its own", code="invalid")
        if not effect.citation.strip():
            problems.add(loc.file, loc.line, f"rule {rule.id}: '{effect.id}' has no citation",
                         code="citation")
        wording = effect.fields.get("wording")
        if wording and ("wording", wording) not in ruleset.catalog:
            choices = [i for (k, i) in ruleset.catalog if k == "wording"]
            problems.add(loc.file, loc.line, f"rule {rule.id}: unknown wording '{wording}'",
                         did_you_mean(wording, choices) or "add it under wordings: in catalog.yaml",
                         code="unknown_id")
        if effect.kind == "opt_out":
            _check_opt_out(rule, effect, problems)
        if effect.legal_status != rule.legal_status:
            _check_status(rule, effect.legal_status, loc, problems)
        _check_data_in_text(loc, f"rule {rule.id}: the citation of '{effect.id}'", effect.citation,
                            problems)


def _check_opt_out(rule: Rule, effect: Effect, problems: ProblemList) -> None:
    loc, fields = effect.location, effect.fields
    if fields.get("mechanism") == "prohibited" and fields.get("default", "off") != "off":
        problems.add(loc.file, loc.line,
                     f"rule {rule.id}: opt-out '{effect.id}' is prohibited but defaults to on",
                     'a prohibited item is always `default: "off"`', code="invalid")
    if "consent_by" in fields and fields.get("mechanism") not in (None, "opt_in"):
        problems.add(loc.file, loc.line,
                     f"rule {rule.id}: opt-out '{effect.id}' names consent_by but is "
                     f"{fields.get('mechanism')}", "consent_by only goes with `mechanism: opt_in`",
                     code="invalid")


def _check_status(rule: Rule, status: str, loc: Location, problems: ProblemList) -> None:
    """`policy` marks the customer's own choices, and only those."""
    if rule.basis == "policy" and status != "policy":
        problems.add(loc.file, loc.line,
                     f"rule {rule.id}: a policy framework's rules are the customer's choices, "
                     f"not law, so their status is `policy`, not '{status}'",
                     "write `status: policy`", code="status")
    elif rule.basis == "law" and status == "policy":
        problems.add(loc.file, loc.line,
                     f"rule {rule.id}: status `policy` in a framework of law",
                     "use verified, verified_secondary, partially_verified, unverified or disputed",
                     code="status")


# Rule data written inside a quoted string ("GDPR Art. 21, absolute: true") is shown to
# people as words and lost as data: the commonest slip in a YAML flow mapping.
DATA_IN_TEXT = re.compile(
    r"(?:^|[,;{(]\s*)(absolute|acknowledge|deadline|extension|business_days|mechanism|default|"
    r"consent_by|knowledge|status|modify|response|gpc_applied|wording|exemptions|"
    r"effective_from|effective_until|digital_consent_age)\s*:\s*[^,;})]+")


def _check_data_in_text(loc: Location, what: str, text: str, problems: ProblemList) -> None:
    match = DATA_IN_TEXT.search(text or "")
    if match:
        problems.add(loc.file, loc.line,
                     f"{what} holds rule data as text: '{match.group(0).strip(' ,;{(')}'",
                     f"close the quotes before it and write `{match.group(1)}: ...` as a field "
                     "of the item", code="data_in_text")


# Above this, a statutory age is a majority rule for all processing of minors (ZA, NG,
# IN 18; TH 20), not a digital age of consent; the policy age is not measured against it.
DIGITAL_CONSENT_AGE_MAX = 16


def _check_policy(ruleset: RuleSet, problems: ProblemList) -> None:
    policy = ruleset.policy
    statutory = [
        (effect.fields["digital_consent_age"], rule)
        for rule in ruleset.rules
        for effect in rule.effects
        if effect.kind == "age_gate" and effect.fields.get("digital_consent_age") is not None
        and rule.basis == "law" and effect.fields["digital_consent_age"] <= DIGITAL_CONSENT_AGE_MAX
    ]
    if statutory:
        strictest, rule = max(statutory, key=lambda pair: pair[0])
        if policy.consent_age_where_law_is_silent < strictest:
            loc = policy.location_of("consent_age_where_law_is_silent")
            problems.add(loc.file, loc.line,
                         f"consent_age_where_law_is_silent is {policy.consent_age_where_law_is_silent}, "
                         f"below the strictest statutory age {strictest} ({rule.id}); an unknown "
                         "place would then admit younger children than a known one",
                         f"use {strictest} or more", code="policy")


def cross_check(ruleset: RuleSet, problems: ProblemList) -> None:
    """Add every cross-file problem of `ruleset` to `problems`."""
    _check_catalog(ruleset, problems)
    _check_jurisdictions(ruleset, problems)
    _check_rules(ruleset, problems)
    _check_policy(ruleset, problems)
