"""Combine the effects that fired for one input class into a Decision.

Per effect (the age gate, or a right / opt-out / notice id):
1. a rule named in another present rule's `overrides:` steps back, and is merged
   underneath the one that overrides it (so `modify`-style overrides keep the rest);
2. of the rest, the most specific place wins (a rule for AT beats one for the EEA);
3. rules left at the same level must agree, or the rule set contradicts itself;
4. `modify: true` effects (GPC, say) are applied last, over the winner.
Contradictions and gaps (a known age with no age-gate outcome) are reported as
problems located at the rules involved.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Mapping

from .classes import Axes, InputClass
from .decision import Decision, Step
from .errors import ProblemList
from .model import AgeRange, Effect, Jurisdiction, Rule, RuleSet, freeze, thaw

# Fields that describe provenance, not meaning: rules that differ only in these agree.
PROVENANCE = ("citation", "notes")


@dataclass(frozen=True)
class Fired:
    rule: Rule
    age: AgeRange | None
    effects: tuple[Effect, ...]
    variant: str


@dataclass
class _Hit:
    rule: Rule
    effect: Effect
    age: AgeRange | None
    specificity: int


def specificity(rule: Rule, jurisdiction: Jurisdiction) -> int:
    """How precisely `rule` names `jurisdiction`: 0 = not at all, deeper = more."""
    depths = [jurisdiction.path.index(code) + 1 for code in rule.when.jurisdictions
              if code in jurisdiction.path]
    return max(depths, default=0)


def _meaning(effect: Effect) -> tuple:
    return tuple(sorted((k, repr(v)) for k, v in effect.fields.items() if k not in PROVENANCE))


def _describe_class(jurisdiction: Jurisdiction, axes: Axes, cls: InputClass) -> str:
    low, high = axes.band_range(cls.band)
    ages = "age not given" if low is None else f"ages {low}-{high - 1}"
    start, end = axes.interval_range(cls.interval)
    when = ""
    if start or end:
        when = f", from {start or 'the beginning'} to {end or 'open end'}"
    return f"{jurisdiction.code}, {ages}, GPC {'on' if cls.gpc else 'off'}{when}"


def _overridden_by(winner: _Hit, bases: list[_Hit]) -> list[_Hit]:
    """The hits `winner` overrides, directly or through others, deepest first."""
    chain: list[_Hit] = []
    frontier = [winner]
    seen = {winner.rule.id}
    while frontier:
        current = frontier.pop()
        for hit in bases:
            if hit.rule.id in seen:
                continue
            if hit.rule.id in current.rule.overrides or current.rule.overrides_all_in_slot:
                seen.add(hit.rule.id)
                chain.append(hit)
                frontier.append(hit)
    # Merge from the bottom up: a rule is merged after every rule it overrides.
    ids = {h.rule.id for h in chain}

    def rank(hit: _Hit, seen: frozenset = frozenset()) -> int:
        below = [h for h in chain if h.rule.id in hit.rule.overrides and h.rule.id not in seen]
        return 1 + max((rank(h, seen | {hit.rule.id}) for h in below), default=0) if ids else 0

    return sorted(chain, key=lambda h: (rank(h), h.specificity))


def _turns_off(hit: _Hit) -> bool:
    """A modifier that only switches an item off (GPC): meaningless on an item that is off."""
    return hit.effect.fields.get("default") == "off" and set(hit.effect.fields) <= {
        "default", "gpc_applied", *PROVENANCE}


def _step(hit: _Hit) -> Step:
    age = hit.age
    return Step(hit.rule.id, age.at_least if age else None, age.below if age else None,
                bool(age and age.include_unknown), hit.effect.modify)


def _conflict(problems: ProblemList, slot: tuple[str, str], hits: list[_Hit], where: str,
              what: str) -> None:
    first, second = hits[0], hits[1]
    others = ", ".join(f"{h.rule.id} ({h.rule.location})" for h in hits[1:])
    problems.add(
        first.rule.location.file, first.rule.location.line,
        f"rules contradict each other on {slot[0].replace('_', ' ')} '{slot[1]}' for {where}: "
        f"{first.rule.id} {what} {others}{_values_apart(first, second)}",
        f"if one replaces the other from a date, give them `effective_from` / `effective_until`; "
        f"if one is an exception to the other, add `overrides: [{second.rule.id}]` to the one "
        f"that should win; otherwise make one more specific (`when: jurisdiction`)",
        code="contradiction",
    )


def _values_apart(first: _Hit, second: _Hit) -> str:
    """`: mechanism opt_in (gdpr.x) vs opt_out (y)`: what the two rules disagree on."""
    a, b = thaw(first.effect.fields), thaw(second.effect.fields)
    keys = [k for k in sorted(set(a) | set(b)) if k not in PROVENANCE and a.get(k) != b.get(k)]
    if not keys:
        return ""
    shown = "; ".join(f"{k} {_word(a.get(k))} ({first.rule.id}) vs {_word(b.get(k))} ({second.rule.id})"
                      for k in keys[:3])
    return f": {shown}"


def _word(value: object) -> str:
    return "(not set)" if value is None else str(value)


def _resolve_slot(slot: tuple[str, str], hits: list[_Hit], problems: ProblemList,
                  where: str) -> tuple[dict, tuple[Step, ...]] | None:
    bases = [h for h in hits if not h.effect.modify]
    modifiers = [h for h in hits if h.effect.modify]
    if not bases:
        return None
    if any(not h.rule.builtin for h in bases):
        # Where a law speaks, the customer's policy steps back (the GPC notice a state
        # law requires is the law's), except a policy rule that overrides the whole slot
        # (the minimum signup age).
        bases = [h for h in bases if not h.rule.builtin or h.rule.overrides_all_in_slot]
    present = {h.rule.id for h in bases}
    overridden: set[str] = set()
    for hit in bases:
        overridden.update(t for t in hit.rule.overrides if t in present)
        if hit.rule.overrides_all_in_slot:
            overridden.update(present - {hit.rule.id})
    top = [h for h in bases if h.rule.id not in overridden] or bases
    best = max(h.specificity for h in top)
    top = [h for h in top if h.specificity == best]
    if len({_meaning(h.effect) for h in top}) > 1:
        _conflict(problems, slot, top, where, "says something other than")
    winner = top[0]
    chain = [*_overridden_by(winner, bases), winner]
    merged: dict = {}
    for hit in chain:
        merged.update(thaw(hit.effect.fields))
    steps = [_step(h) for h in chain] + [_step(h) for h in top[1:]]
    last = winner
    if any(not h.rule.builtin for h in modifiers):
        # A law that speaks (GPC binding by statute) replaces the customer's policy.
        modifiers = [h for h in modifiers if not h.rule.builtin]
    if merged.get("mechanism") == "prohibited" or merged.get("default") == "off":
        # Nothing can change an item that is not allowed at all, and a signal that turns off
        # what is off already changed nothing: `gpc_applied` (and the GPC notice) would
        # tell the person otherwise (issue 9, finding 7).
        modifiers = [h for h in modifiers if not _turns_off(h)]
    modifiers.sort(key=lambda h: h.specificity)
    applied: dict[str, tuple] = {}
    for hit in modifiers:
        for key, value in hit.effect.fields.items():
            if key in PROVENANCE:
                continue
            earlier = applied.get(key)
            if earlier and earlier[0] == hit.specificity and earlier[1] != value:
                _conflict(problems, slot, [earlier[2], hit], where, f"sets {key} differently from")
            applied[key] = (hit.specificity, value, hit)
            merged[key] = value
        steps.append(_step(hit))
        last = hit
    merged["rule"] = last.rule.id
    merged["citation"] = last.effect.citation
    merged["legal_status"] = last.effect.legal_status
    merged["basis"] = merged.get("basis", last.rule.basis) if slot[0] == "age_gate" else last.rule.basis
    if merged["basis"] == "policy":
        merged["legal_status"] = "policy"  # the customer's choice is never "verified" law
    return merged, tuple(steps)


class ResolveMemo:
    """What one compile has combined already, so equal work is done once.

    `combinations`: classes where the same variants fired combine to the same effects, in
    any place whose path holds the places rules name at the same depths (most classes
    repeat a few thousand combinations); the rights are finished per authority. `slots`: one
    effect slot with the same hits resolves the same in any combination and any place
    (thousands of combinations share a few hundred slot outcomes). `frozen`: the frozen
    age gate and item lists, by the slot outcomes (and whatever else) they are made of:
    thousands of combinations share a few hundred of each, and one shared object is
    frozen once and encoded once by the version hash. `order`: where each catalogue id
    sits, for listing items in catalogue order.
    """

    def __init__(self, ruleset: RuleSet) -> None:
        self.combinations: dict[tuple, tuple] = {}
        self.slots: dict[tuple, tuple[dict, tuple[Step, ...]] | None] = {}
        self.frozen: dict[tuple, object] = {}
        self.order = _catalog_order(ruleset)
        self.gaps_reported: set[tuple] = set()  # (place, combination): a gap once per place


def _catalog_order(ruleset: RuleSet) -> dict[str, dict[str, int]]:
    order: dict[str, dict[str, int]] = {"right": {}, "opt_out": {}, "notice": {}}
    for kind, item_id in ruleset.catalog:
        if kind in order:
            order[kind].setdefault(item_id, len(order[kind]))
    return order


def _resolve_slot_once(slot: tuple[str, str], hits: list[_Hit], problems: ProblemList, where: str,
                       memo: ResolveMemo | None) -> tuple[dict, tuple[Step, ...], tuple | None] | None:
    """`_resolve_slot`, kept in `memo` when it found nothing wrong; also returns the memo
    key (None where not kept), which names the outcome.

    Everything it reads of a hit is in the key (the rule, the effect and age objects,
    which the compile keeps alive, and the specificity); `where` only words problems. A
    slot that reported a problem is not kept, so every class where it occurs is still
    checked as before. The merged fields are shared: callers must not change them."""
    if memo is None:
        outcome = _resolve_slot(slot, hits, problems, where)
        return None if outcome is None else (*outcome, None)
    key: tuple | None = (slot, tuple((h.rule.id, id(h.effect), id(h.age), h.specificity) for h in hits))
    if key in memo.slots:
        outcome = memo.slots[key]
    else:
        reported = len(problems.items)
        outcome = _resolve_slot(slot, hits, problems, where)
        if len(problems.items) == reported:
            memo.slots[key] = outcome
        else:
            key = None
    return None if outcome is None else (*outcome, key)


def _who_consents(law_gate: list[_Hit], where: str,
                  memo: ResolveMemo | None) -> tuple[str, str, str] | None:
    """Who consents for the person if the law (or the policy age where the law names none)
    says they are below the age of consent: (consent_by, basis, rule), else None.

    This ignores the customer's minimum signup age (`blocked` is not about consent): a
    child below it is still a child whose opt-ins a parent decides."""
    if not law_gate:
        return None
    outcome = _resolve_slot_once(("age_gate", "age_gate"), law_gate, ProblemList(), where, memo)
    if outcome is None:
        return None
    gate = outcome[0]
    if gate.get("status") != "parental_consent_required":
        return None
    return gate.get("consent_by", "parent"), gate.get("basis", "law"), gate["rule"]


def resolve_class(
    ruleset: RuleSet,
    jurisdiction: Jurisdiction,
    axes: Axes,
    cls: InputClass,
    fired: list[Fired],
    problems: ProblemList,
    memo: ResolveMemo | None = None,
    named: tuple | None = None,
) -> Decision:
    """Turn the variants that fired for `cls` into its Decision.

    With `memo` (one per compile) each combination of fired variants is combined once for
    every place where the places rules name sit at the same depths of its path (`named`,
    compiler._profile: all a combination reads of a place but its authority, which only
    the complaint right shows and is added per place); the shared, frozen effects also make
    the version hash cheap. A contradiction is then reported for the first class it occurs
    in, a missing age gate once per place.
    """
    key = (jurisdiction.code if named is None else named, cls.age is None, cls.context,
           tuple((f.rule.id, f.variant) for f in fired))
    effects = memo.combinations.get(key) if memo is not None else None
    if effects is None:
        effects = _combine(ruleset, jurisdiction, axes, cls, fired, problems, memo)
        if memo is not None:
            memo.combinations[key] = effects
            if effects[-1]:  # _combine has just reported this place's gap
                memo.gaps_reported.add((jurisdiction.code, key))
    gate, rights_with, opt_outs, notices, steps, gap = effects
    if gap and memo is not None and (jurisdiction.code, key) not in memo.gaps_reported:
        memo.gaps_reported.add((jurisdiction.code, key))
        _report_gap(problems, jurisdiction, _describe_class(jurisdiction, axes, cls))
    rights = rights_with(jurisdiction.authority)
    low, high = axes.band_range(cls.band)
    start, end = axes.interval_range(cls.interval)
    return Decision(
        jurisdiction=jurisdiction.code,
        frameworks=jurisdiction.frameworks,
        path=jurisdiction.path,
        age_range=(low, high),
        gpc=cls.gpc,
        valid_from=start,
        valid_until=end,
        age_gate=gate,
        rights=rights,
        opt_outs=opt_outs,
        notices=notices,
        steps=steps,
    )


def _report_gap(problems: ProblemList, jurisdiction: Jurisdiction, where: str) -> None:
    problems.add(
        jurisdiction.location.file, jurisdiction.location.line,
        f"gap: no age-gate outcome for {where}",
        f"add a rule with `then: age_gate:` to a framework of {jurisdiction.code} "
        f"({', '.join(jurisdiction.frameworks)})",
        code="gap",
    )


def _combine(ruleset: RuleSet, jurisdiction: Jurisdiction, axes: Axes, cls: InputClass,
             fired: list[Fired], problems: ProblemList, memo: ResolveMemo | None) -> tuple:
    """The effects of one combination of fired variants: (gate, the rights given a place's
    authority, opt-outs, notices, steps, whether the age gate has a gap)."""
    where = _describe_class(jurisdiction, axes, cls)
    by_slot: dict[tuple[str, str], list[_Hit]] = {}
    seen: set[tuple[str, str, str]] = set()
    for hit in fired:
        spec = specificity(hit.rule, jurisdiction)
        for effect in hit.effects:
            key = (hit.rule.id, effect.kind, effect.id)
            if key in seen:  # a rule with `$or` fires once per true branch
                continue
            seen.add(key)
            by_slot.setdefault(effect.slot, []).append(_Hit(hit.rule, effect, hit.age, spec))

    resolved: dict[tuple[str, str], dict] = {}
    steps: dict[tuple[str, str], tuple[Step, ...]] = {}
    made_of: dict[tuple[str, str], tuple | None] = {}  # slot -> the memo key of its outcome
    for slot, hits in by_slot.items():
        outcome = _resolve_slot_once(slot, hits, problems, where, memo)
        if outcome is not None:
            resolved[slot], steps[slot], made_of[slot] = outcome

    gate = resolved.get(("age_gate", "age_gate"))
    gate = None if gate is None else dict(gate)  # completed below: a copy of the shared outcome
    gate_made_of = made_of.get(("age_gate", "age_gate"), "default")
    law_gate = [h for h in by_slot.get(("age_gate", "age_gate"), []) if not h.rule.builtin]
    consent = _who_consents(law_gate, where, memo)
    gap = cls.age is not None and not law_gate
    if gap:
        _report_gap(problems, jurisdiction, where)
    if gate is None:
        gate = {"status": "age_required", "digital_consent_age": None,
                "parental_consent_required": None, "basis": "policy", "rule": None,
                "citation": "", "legal_status": "verified"}
    gate.setdefault("digital_consent_age", None)
    gate.setdefault("parental_consent_required", None)
    gate["minimum_age"] = ruleset.policy.minimum_age(cls.context)
    if gate.get("status") != "parental_consent_required":
        gate.pop("consent_by", None)
        gate.pop("consent_age", None)

    if gate.get("status") == "parental_consent_required":
        # The notice follows the final age gate, not whichever rule's band fired.
        resolved[("notice", "parental_consent")] = {
            "rule": gate["rule"], "citation": gate["citation"],
            "legal_status": gate["legal_status"], "basis": gate["basis"]}
        steps[("notice", "parental_consent")] = steps[("age_gate", "age_gate")]
        made_of[("notice", "parental_consent")] = None if gate_made_of is None else ("age_gate", gate_made_of)

    order = memo.order if memo is not None else _catalog_order(ruleset)

    def shared(key: tuple, make: Callable[[], Any]) -> Any:
        """One frozen value per key; key[1] holds the memo keys of the slot outcomes it is
        made of (None: an outcome that reported a problem, so not kept)."""
        if memo is None or None in key[1]:
            return make()
        value = memo.frozen.get(key)
        if value is None:
            value = memo.frozen[key] = make()
        return value

    def items(kind: str, authority: Mapping | None = None) -> tuple[Mapping, ...]:
        chosen = sorted((order[kind].get(i, 999), i) for (k, i) in resolved if k == kind)
        # What the list is made of: its slots' outcomes, and what a kind adds below.
        extra = {"right": repr(authority), "opt_out": consent, "notice": gpc_changed}
        return shared((kind, tuple(made_of[(kind, i)] for _, i in chosen), extra[kind]),
                      lambda: build(kind, [(i, resolved[(kind, i)]) for _, i in chosen], authority))

    def build(kind: str, chosen: list[tuple[str, dict]], authority: Mapping | None) -> tuple[Mapping, ...]:
        out = []
        for item_id, fields in chosen:
            entry = {"id": item_id, **fields}
            if kind == "right" and item_id == "complain":
                entry["authority"] = thaw(authority) if authority else None
            if kind == "opt_out":
                entry.setdefault("gpc_applied", False)
                if entry.get("mechanism") != "opt_in":
                    entry.pop("consent_by", None)
                elif entry.get("consent_by", "person") == "person" and consent is not None:
                    # Below the age that applies here, the person cannot consent alone:
                    # whoever the age gate names consents to every opt-in.
                    entry["consent_by"], basis, rule_id = consent
                    entry["consent_rule"] = rule_id
                    if basis == "policy":
                        entry["consent_basis"] = "policy"
                else:
                    entry.setdefault("consent_by", "person")
            if kind == "notice" and item_id == "gpc_status" and not gpc_changed:
                continue  # the signal changed nothing for this person: nothing to report
            out.append(freeze(entry))
        return tuple(out)

    gpc_changed = any(fields.get("gpc_applied") for (k, _), fields in resolved.items()
                      if k == "opt_out")

    frozen_gate = shared(("age_gate", (gate_made_of,), gate["minimum_age"]), lambda: freeze(gate))
    # The steps are tuples of frozen Steps already: a read-only view is enough (freeze
    # would walk every Step).
    by_authority: dict[int, tuple[Mapping, ...]] = {}  # the authorities live as long as the rule set

    def rights_with(authority: Mapping | None) -> tuple[Mapping, ...]:
        rights = by_authority.get(id(authority))
        if rights is None:
            rights = by_authority[id(authority)] = items("right", authority)
        return rights

    return (frozen_gate, rights_with, items("opt_out"), items("notice"), MappingProxyType(steps), gap)
