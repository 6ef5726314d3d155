"""Say in words why each part of a decision is what it is, and which law says so.

    parental consent required: GDPR Art. 8(1) with DSG § 4(4), rule gdpr.art8.at,
    because AT and age 13 < 14
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .decision import Decision, Step
from .model import RuleSet

KNOWLEDGE_WORDS = {
    "actual": "actual knowledge",
    "wilful_disregard": "actual knowledge or wilful disregard",
    "knew_or_should_have_known": "knew or should have known",
    "reasonable_certainty": "aware with reasonable certainty",
}

CONSENT_WORDS = {"person": "the person", "parent": "a parent",
                 "parent_and_child": "the person and a parent jointly", "school": "the school"}

GATE_WORDS = {
    "allowed": "allowed (consents alone)",
    "parental_consent_required": "parental consent required",
    "blocked": "blocked (below the minimum signup age)",
    "age_required": "age required",
}


@dataclass(frozen=True)
class Explanation:
    kind: str
    id: str
    outcome: str
    rule: str | None
    citation: str
    legal_status: str
    because: tuple[str, ...]
    rules: tuple[str, ...]

    def __str__(self) -> str:
        because = " and ".join(self.because) or "it always applies"
        status = "" if self.legal_status in ("verified", "") else f" [{self.legal_status}]"
        return (f"{self.outcome}: {self.citation}, rule {self.rule}{status}, because {because}")

    def to_dict(self) -> dict:
        return {"kind": self.kind, "id": self.id, "outcome": self.outcome, "rule": self.rule,
                "citation": self.citation, "legal_status": self.legal_status,
                "because": list(self.because), "rules": list(self.rules), "text": str(self)}


def _reasons(ruleset: RuleSet, step: Step, decision: Decision, age: int | None, gpc: bool,
             as_of: date) -> list[str]:
    code = decision.jurisdiction
    reasons: list[str] = []
    if step.rule.startswith("policy."):
        rule = next(r for r in _policy_rules(ruleset) if r.id == step.rule)
    else:
        rule = ruleset.rule(step.rule)
    named = [c for c in rule.when.jurisdictions if c in decision.path]
    if named:
        reasons.append(code if named[0] == code else f"{code} is in {named[0]}")
    elif rule.framework != "*":
        title = ruleset.catalog.get(("framework", rule.framework))
        reasons.append(f"{title.title if title else rule.framework} applies in {code}")
    if step.at_least is not None or step.below is not None:
        if age is None:
            reasons.append("age not given")
        else:
            if step.below is not None and age < step.below:
                reasons.append(f"age {age} < {step.below}")
            if step.at_least is not None and age >= step.at_least:
                reasons.append(f"age {age} >= {step.at_least}")
    elif step.include_unknown and age is None:
        reasons.append("age not given")
    if rule.when.age is not None and rule.when.age.unknown_only:
        reasons.append("no age or birthdate was given")
    if rule.when.gpc is True and gpc:
        reasons.append("the browser sent a GPC signal")
    if rule.when.context == "school":
        reasons.append("the account is provided through a school")
    elif rule.when.context == "consumer":
        reasons.append("the account is not provided through a school")
    for key, value in rule.when.policy:
        shown = ", ".join(value) if isinstance(value, (list, tuple)) else str(value).lower()
        reasons.append(f"the customer's policy says {key}: {shown}")
    absent = [fw for fw in rule.when.frameworks_absent if fw in decision.frameworks]
    if absent:
        reasons.append(f"{', '.join(absent)} is not in force in {code} on {as_of}")
    if rule.when.effective_from:
        reasons.append(f"in force since {rule.when.effective_from} (as of {as_of})")
    if rule.when.effective_until:
        reasons.append(f"in force until {rule.when.effective_until} (as of {as_of})")
    return reasons


def _policy_rules(ruleset: RuleSet) -> list:
    from .compiler import policy_rules

    return policy_rules(ruleset)


def _outcome(kind: str, item: dict) -> str:
    if kind == "age_gate":
        words = GATE_WORDS.get(item["status"], item["status"])
        if item.get("consent_by") in ("parent_and_child", "school"):
            words += f" (consent by {CONSENT_WORDS[item['consent_by']]})"
        return words
    if kind == "opt_out":
        words = [f"{item['id']}: {item['mechanism'].replace('_', '-')}", f"{item['default']} by default"]
        if item.get("consent_by"):
            by = CONSENT_WORDS.get(item["consent_by"], item["consent_by"])
            words.append(f"consent by {by}" + (" (policy age)" if item.get("consent_basis") else ""))
        if item.get("knowledge"):
            standard = KNOWLEDGE_WORDS.get(item["knowledge"], item["knowledge"])
            words.append(f"when the age is known ({standard})")
        if item.get("gpc_applied"):
            words.append("GPC applied")
        return ", ".join(words)
    return f"{kind.replace('_', '-')} {item['id']}"


def explain(ruleset: RuleSet, decision: Decision, age: int | None, gpc: bool,
            as_of: date) -> list[Explanation]:
    """One explanation per effect of `decision`, age gate first."""
    out = []
    for kind, item in decision.effects():
        slot = (kind, "age_gate" if kind == "age_gate" else item["id"])
        steps = decision.steps.get(slot, ())
        deciding = next((s for s in reversed(steps) if s.rule == item.get("rule")),
                        steps[-1] if steps else None)
        because = _reasons(ruleset, deciding, decision, age, gpc, as_of) if deciding else []
        out.append(Explanation(
            kind=kind,
            id=slot[1],
            outcome=_outcome(kind, dict(item)),
            rule=item.get("rule"),
            citation=item.get("citation", ""),
            legal_status=item.get("legal_status", ""),
            because=tuple(because),
            rules=tuple(s.rule for s in steps),
        ))
    return out
