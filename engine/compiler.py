"""Compile a RuleSet into durable_rules rulesets and evaluate every input class.

Only this module (through engine.durable_core) touches durable_rules, and only at load
time: under the core's lock, with a catch-all rule (so nothing is left unhandled), every
state deleted after its class, and each C-side ruleset freed once its places are
evaluated (see docs/durable-rules.md).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, replace
from datetime import date
from typing import Mapping

from .classes import (
    UNKNOWN_AGE,
    Axes,
    InputClass,
    axes_for,
    classes_for,
    contexts_for,
    rule_reaches,
)
from .durable_core import LOCK, NOT_STATE, CoreRuleset
from .errors import ProblemList
from .model import (
    CONTEXTS,
    AgeRange,
    Condition,
    Effect,
    Framework,
    Jurisdiction,
    Rule,
    RuleSet,
    freeze,
)
from .resolve import Fired, ResolveMemo, resolve_class

_ruleset_names = itertools.count()
GPC_OPT_OUTS = ("sale_sharing", "targeted_advertising")


@dataclass(frozen=True)
class Variant:
    """One durable_rules rule: a rule (or one age band of its age gate) and its effects."""

    rule: Rule
    name: str
    age: AgeRange | None
    effects: tuple[Effect, ...]


# -- built-in rules from policy.yaml ------------------------------------------------


def policy_rules(ruleset: RuleSet) -> list[Rule]:
    """The rules that policy.yaml values imply, located at the line that sets them."""
    policy = ruleset.policy

    def make(rid: str, key: str, summary: str, when: Condition, effects: list[dict],
             overrides_all: bool = False) -> Rule:
        loc = policy.location_of(key)
        # Shown to end users: the setting in words, never a file path.
        citation = f"Customer policy: {key} = {str(getattr(policy, key)).lower()}"
        built = tuple(
            Effect(e["kind"], e["id"], freeze(e["fields"]), e.get("modify", False), citation,
                   "policy", loc)
            for e in effects
        )
        return Rule(rid, "*", summary, when, built, (), citation, "policy", "policy.yaml",
                    None, "policy", loc, builtin=True, overrides_all_in_slot=overrides_all)

    rules = [
        make("policy.age_required", "minimum_signup_age",
             "No age or birthdate was given, so the age gate cannot be decided",
             Condition(age=AgeRange(unknown_only=True)),
             [{"kind": "age_gate", "id": "age_gate",
               "fields": {"status": "age_required", "digital_consent_age": None,
                          "parental_consent_required": None, "basis": "policy"}}]),
    ]
    blocked = [{"kind": "age_gate", "id": "age_gate", "fields": {"status": "blocked", "basis": "policy"}}]
    if policy.school_minimum_differs:
        # A school-provided account has its own minimum (a K-12 service serves young
        # children through their school), so every place gets a school context class.
        school_age = policy.minimum_age("school")
        rules += [
            make("policy.minimum_signup_age", "minimum_signup_age",
                 f"Signup is refused below age {policy.minimum_signup_age}",
                 Condition(age=AgeRange(below=policy.minimum_signup_age), context="consumer"),
                 blocked, overrides_all=True),
            make("policy.minimum_signup_age_in_school_context", "minimum_signup_age_in_school_context",
                 f"Signup through a school is refused below age {school_age}",
                 Condition(age=AgeRange(below=school_age), context="school"),
                 blocked, overrides_all=True),
        ]
    else:
        rules.append(make("policy.minimum_signup_age", "minimum_signup_age",
                          f"Signup is refused below age {policy.minimum_signup_age}",
                          Condition(age=AgeRange(below=policy.minimum_signup_age)),
                          blocked, overrides_all=True))
    if policy.honour_gpc_outside_california:
        rules.append(make(
            "policy.gpc", "honour_gpc_outside_california",
            "A Global Privacy Control signal is honoured as an opt-out outside California too",
            Condition(gpc=True, frameworks_absent=("ccpa",)),
            [*({"kind": "opt_out", "id": oid, "modify": True,
                "fields": {"default": "off", "gpc_applied": True}} for oid in GPC_OPT_OUTS),
             {"kind": "notice", "id": "gpc_status", "fields": {}}]))
    return rules


# -- variants: one durable rule per age-gate band -----------------------------------


def _intersect(a: AgeRange | None, low: int | None, high: int | None) -> AgeRange | None:
    """Intersect a rule's age range with [low, high); None when empty."""
    lows = [x for x in (a.at_least if a else None, low) if x is not None]
    highs = [x for x in (a.below if a else None, high) if x is not None]
    at_least = max(lows) if lows else None
    below = min(highs) if highs else None
    if at_least is not None and below is not None and at_least >= below:
        return None
    return AgeRange(at_least, below)


def _gate(effect: Effect, status: str, consent_age: int | None, basis: str,
          policy_age: int | None) -> Effect:
    fields = {
        "status": status,
        "digital_consent_age": effect.fields.get("digital_consent_age"),
        "parental_consent_required": status == "parental_consent_required",
        "basis": basis,
    }
    if policy_age is not None:
        fields["policy_consent_age"] = policy_age
    if status == "parental_consent_required":
        fields["consent_by"] = effect.fields.get("consent_by", "parent")
        fields["consent_age"] = consent_age
    return replace(effect, fields=freeze(fields))


def policy_allows(rule: Rule, ruleset: RuleSet) -> bool:
    """Do the policy.yaml settings the rule depends on (`when: policy:`) hold?"""
    paths = {code: jur.path for code, jur in ruleset.jurisdictions.items()}
    return all(ruleset.policy.holds(key, value, paths) for key, value in rule.when.policy)


def variants_of(rule: Rule, ruleset: RuleSet) -> list[Variant]:
    """Split a rule into the durable rules that implement it."""
    if not policy_allows(rule, ruleset):
        return []
    plain = tuple(e for e in rule.effects if e.kind != "age_gate")
    variants = []
    if plain:
        variants.append(Variant(rule, "main", rule.when.age, plain))
    for effect in (e for e in rule.effects if e.kind == "age_gate"):
        if rule.builtin:
            variants.append(Variant(rule, "gate", rule.when.age, (effect,)))
            continue
        status = effect.fields.get("status")
        age = effect.fields.get("digital_consent_age")
        basis = rule.basis
        policy_age = None
        if age is None:
            policy_age = ruleset.policy.consent_age_where_law_is_silent
            basis = "policy"
        threshold = age if age is not None else policy_age
        if status:
            gate = _gate(effect, status, threshold, basis, policy_age)
            variants.append(Variant(rule, status, rule.when.age, (gate,)))
            continue
        below = _intersect(rule.when.age, None, threshold)
        if below is not None:
            gate = _gate(effect, "parental_consent_required", threshold, basis, policy_age)
            variants.append(Variant(rule, "below", below, (gate,)))
        above = _intersect(rule.when.age, threshold, None)
        if above is not None:
            variants.append(Variant(rule, "from", above,
                                    (_gate(effect, "allowed", threshold, basis, policy_age),)))
    return variants


# -- conditions in durable_rules' JSON ----------------------------------------------


def _flag(prefix: str, code: str) -> str:
    return f"{prefix}_{code.replace('-', '_')}"


def _age_condition(age: AgeRange) -> dict:
    if age.unknown_only:
        return {"$nex": {"age": 1}}
    known = [{"$ex": {"age": 1}}]
    if age.at_least is not None:
        known.append({"$gte": {"age": age.at_least}})
    if age.below is not None:
        known.append({"$lt": {"age": age.below}})
    if age.include_unknown:
        return {"$or": [{"$nex": {"age": 1}}, {"$and": known}]}
    return {"$and": known}


def _day_number(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


CLASS_FACT = {"kind": "class"}  # the facts the compiler asserts: one per input class


def durable_condition(variant: Variant) -> list[dict]:
    """The AND-list of durable_rules tests for one variant."""
    when = variant.rule.when
    tests: list[dict] = [NOT_STATE, CLASS_FACT]
    if variant.rule.framework != "*":
        tests.append({"$ex": {_flag("fw", variant.rule.framework): 1}})
    for fw in when.frameworks_absent:
        tests.append({"$nex": {_flag("fw", fw): 1}})
    if when.jurisdictions:
        places = [{"$ex": {_flag("in", code): 1}} for code in when.jurisdictions]
        tests.append(places[0] if len(places) == 1 else {"$or": places})
    if variant.age is not None:
        tests.append(_age_condition(variant.age))
    if when.gpc is not None:
        tests.append({"gpc": 1 if when.gpc else 0})
    if when.context is not None:
        tests.append({"context": when.context})
    if when.effective_from:
        tests.append({"$gte": {"day": _day_number(when.effective_from)}})
    if when.effective_until:
        tests.append({"$lte": {"day": _day_number(when.effective_until)}})
    return tests


def fact_for(jurisdiction: Jurisdiction, cls: InputClass, sid: str,
             frameworks: Mapping[str, Framework]) -> dict:
    fact: dict = {"sid": sid, "kind": "class", "gpc": 1 if cls.gpc else 0,
                  "day": _day_number(cls.day), "context": cls.context}
    if cls.age is not None:
        fact["age"] = cls.age
    for fw in jurisdiction.frameworks:
        # A framework not yet (or no longer) in force is absent on that day, so the
        # rules it replaces (`replaces:`) apply until it starts.
        if fw not in frameworks or frameworks[fw].in_force(cls.day):
            fact[_flag("fw", fw)] = 1
    for code in jurisdiction.path:
        fact[_flag("in", code)] = 1
    return fact


# -- evaluation ---------------------------------------------------------------------


@dataclass(frozen=True)
class JurisdictionTable:
    """One jurisdiction's axes and the decision of each of its classes."""

    jurisdiction: Jurisdiction
    axes: Axes
    decisions: dict  # (band, gpc, interval, context) -> Decision
    contexts: tuple[str, ...] = CONTEXTS[:1]  # ("consumer",) where no rule names a context
    supported_from: date | None = None  # the earliest day modelled here (None: any day)


def supported_from(jurisdiction: Jurisdiction, frameworks: Mapping[str, Framework]) -> date | None:
    """The first day any of the place's laws is in force, when every framework that applies
    there is dated law; None where an undated one (the DEFAULT policy) covers every day."""
    known = [frameworks[fw] for fw in jurisdiction.frameworks if fw in frameworks]
    if not known or any(fw.effective_from is None or fw.basis != "law" for fw in known):
        return None
    return min(fw.effective_from for fw in known)


def _group_of(jurisdiction: Jurisdiction) -> tuple[str, ...]:
    """A place's set of frameworks: the places that share it can reach the same rules,
    before the places rules name are looked at."""
    return tuple(sorted(jurisdiction.frameworks))


def _ages_alike_in_both_contexts(reach: list[Rule], ruleset: RuleSet):
    """Where only the customer's two minimum-age rules name a context, a school class and
    its consumer twin differ only at ages where one of those rules applies; return a test
    for the ages (None: unknown) whose school class can reuse the consumer decision."""
    if any(rule.when.context for rule in reach if not rule.builtin):
        return lambda age: False
    below = max(ruleset.policy.minimum_age(c) for c in CONTEXTS)
    return lambda age: age is None or age >= below


def _profile(jurisdiction: Jurisdiction, reach: list[Rule], ruleset: RuleSet) -> tuple:
    """What the rules can see of a place: its frameworks (with their dates) and where in its
    path sit the places rules name. Places with one profile (the US states without a law
    of their own) fire the same variants in every class and reach the same rules, so they
    are evaluated once, in one ruleset."""
    named = {code for rule in reach for code in rule.when.jurisdictions}
    return (_group_of(jurisdiction), jurisdiction.frameworks,
            tuple((code, depth) for depth, code in enumerate(jurisdiction.path) if code in named),
            supported_from(jurisdiction, ruleset.frameworks))


def _evaluate_place(core: CoreRuleset, jurisdiction: Jurisdiction, reach: list[Rule],
                    first_day: date | None, ruleset: RuleSet, fired_as: list[Fired],
                    variants_named: Mapping[str, tuple[int, ...]]) -> tuple[Axes, tuple[str, ...], list]:
    """Assert every input class of one place into its durable_rules ruleset; return the
    place's axes, contexts and, per class, the variants that fired (`variants_named` maps a
    durable rule to the variants it stands for; `fired_as[i]` is variant i as resolve reads it)."""
    extra = {ruleset.policy.minimum_age(c) for c in CONTEXTS}
    if any(e.kind == "age_gate" and e.fields.get("digital_consent_age", 0) is None
           for r in reach for e in r.effects):
        extra.add(ruleset.policy.consent_age_where_law_is_silent)
    axes = axes_for(reach, extra, first_day)
    contexts = contexts_for(reach)
    same_in_school = _ages_alike_in_both_contexts(reach, ruleset)
    out: list[tuple[InputClass, list[Fired]]] = []
    consumer_hits: list[Fired] = []
    for cls in classes_for(jurisdiction.code, axes, contexts):
        if cls.context == "school" and same_in_school(cls.age):
            # No rule that can fire here tells the contexts apart at this age, so the
            # same variants fire as for the consumer twin just evaluated.
            out.append((cls, consumer_hits))
            continue
        sid = f"{jurisdiction.code}/{cls.band}/{int(cls.gpc)}/{cls.interval}/{cls.context}"
        fired = {i for name in core.fired(fact_for(jurisdiction, cls, sid, ruleset.frameworks))
                 for i in variants_named[name]}
        consumer_hits = [fired_as[i] for i in sorted(fired)]
        out.append((cls, consumer_hits))
    return axes, contexts, out


def _definition(indices: list[int], conditions: list[list[dict]]
                ) -> tuple[dict[str, list[dict]], dict[str, tuple[int, ...]]]:
    """The durable_rules rules that evaluate a place, by name, and the variants each stands
    for: one rule per distinct condition among the variants `indices` (those whose rule can
    reach the place).

    Variants with the same condition (a law's rights, say) are one durable rule: each fired
    rule costs far more than the match itself, and these fire together in every class."""
    alike: dict[str, tuple[list[dict], list[int]]] = {}
    for index in indices:
        key = json.dumps(conditions[index], sort_keys=True)
        alike.setdefault(key, (conditions[index], []))[1].append(index)
    return ({f"v{same[0]}": condition for condition, same in alike.values()},
            {f"v{same[0]}": tuple(same) for _, same in alike.values()})


def compile_and_evaluate(ruleset: RuleSet, problems: ProblemList) -> dict[str, JurisdictionTable]:
    """Evaluate every input class of every jurisdiction through durable_rules.

    Each place profile (places whose classes fire alike, `_profile`) gets a ruleset of its
    own with just the rules that can reach it: its frameworks' rules for its places, and
    the policy rules (any other rule could never fire there: its framework or place test
    fails). durable_rules checks a fact, and the state it re-asserts after every fired
    rule, against every rule of the ruleset, so a fact is matched against the conditions
    of the rules that concern the place (10 for an EEA state) instead of those of every
    rule of its frameworks (68), and no ruleset grows past durable_rules' limits as places
    are added (bench/results.md, growth).
    """
    rules = [r for r in (*policy_rules(ruleset), *ruleset.rules) if policy_allows(r, ruleset)]
    variants = [v for rule in rules for v in variants_of(rule, ruleset)]
    conditions = [durable_condition(v) for v in variants]
    fired_as = [Fired(v.rule, v.age, v.effects, v.name) for v in variants]  # what resolve reads
    variants_of_rule: dict[str, list[int]] = {}
    for index, v in enumerate(variants):
        variants_of_rule.setdefault(v.rule.id, []).append(index)

    # The rules each set of frameworks can reach, so each place is checked against those
    # only (not every rule: that is places x rules, 25 M checks at 100x).
    group_rules = {group: [r for r in rules if r.framework == "*" or r.framework in group]
                   for group in {_group_of(j) for j in ruleset.jurisdictions.values()}}
    tables: dict[str, JurisdictionTable] = {}
    combined = ResolveMemo(ruleset)  # equal work in resolve_class is done once
    evaluated: dict[tuple, tuple] = {}  # place profile -> axes, contexts, fired per class
    for jurisdiction in ruleset.jurisdictions.values():
        reach = [r for r in group_rules[_group_of(jurisdiction)] if rule_reaches(r, jurisdiction)]
        profile = _profile(jurisdiction, reach, ruleset)
        first_day = supported_from(jurisdiction, ruleset.frameworks)
        if profile not in evaluated:
            durable_rules, variants_named = _definition(
                [i for rule in reach for i in variants_of_rule.get(rule.id, ())], conditions)
            with LOCK, CoreRuleset(f"rightsgate_{next(_ruleset_names)}", durable_rules, CLASS_FACT) as core:
                evaluated[profile] = _evaluate_place(core, jurisdiction, reach, first_day, ruleset,
                                                     fired_as, variants_named)
        axes, contexts, fired_per_class = evaluated[profile]
        decisions = {
            (cls.band, cls.gpc, cls.interval, cls.context): resolve_class(
                ruleset, jurisdiction, axes, cls, hits, problems, combined, profile[2])
            for cls, hits in fired_per_class}
        tables[jurisdiction.code] = JurisdictionTable(jurisdiction, axes, decisions, contexts, first_day)
    return tables


__all__ = ["UNKNOWN_AGE", "compile_and_evaluate", "policy_rules", "variants_of"]
