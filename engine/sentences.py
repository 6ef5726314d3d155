"""A rule change in the legal team's words: "Denmark, ages 13-14: a parent must now consent".

`engine.diff` finds each difference as a field and two values; this module says what
that difference means for the people it concerns, naming items by their catalogue
titles. Whatever it has no sentence for is still said, plainly, from the field name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .model import RuleSet

if TYPE_CHECKING:  # engine.diff uses this module to word its report
    from .diff import Change

GATE_STATUS = {
    "allowed": "can sign up and consent themselves",
    "parental_consent_required": "need a parent's consent",
    "blocked": "can no longer sign up",
    "age_required": "must give their age",
}
CONSENT_BY = {
    "person": "the person consents",
    "parent": "a parent must consent",
    "parent_and_child": "the person and a parent must consent jointly",
    "school": "the school may consent",
}
MECHANISM = {
    "opt_in": "needs opt-in consent",
    "opt_out": "is on unless the person opts out",
    "prohibited": "is prohibited",
    "strictly_necessary_only": "is allowed only where strictly necessary",
}
SECTION_NOUN = {"rights": "right", "opt_outs": "opt-out", "notices": "notice"}
KIND_OF_SECTION = {"rights": "right", "opt_outs": "opt_out", "notices": "notice"}


def _title(ruleset: RuleSet, section: str, item_id: str) -> str:
    entry = ruleset.catalog.get((KIND_OF_SECTION[section], item_id))
    return f"'{entry.title}'" if entry else f"{SECTION_NOUN[section]} {item_id}"


def _was(value: object) -> str:
    return "not set" if value in (None, "absent") else str(value).replace("_", " ")


def _rule(value: object) -> str:
    return "none" if value in (None, "absent") else str(value)


def what_changed(change: Change, ruleset: RuleSet) -> str:
    """The change's effect in a sentence (without the place and ages)."""
    field, before, after = change.what, change.before, change.after
    if field == "answer" or "refused" in str(before) or "refused" in str(after):
        return f"the answer changes from {_was(before)} to {_was(after)}"
    parts = field.split(".")
    if parts[0] == "age_gate":
        key = parts[1]
        if key == "status" and after in GATE_STATUS:
            return f"people now {GATE_STATUS[after]} (before: {GATE_STATUS.get(before, _was(before))})"
        if key == "consent_by" and after in CONSENT_BY:
            if before in (None, "absent"):
                return f"{CONSENT_BY[after]}"
            return f"{CONSENT_BY[after]} now (before: {CONSENT_BY.get(before, _was(before))})"
        if key == "digital_consent_age":
            return f"the digital consent age is now {_was(after)} (was {_was(before)})"
        if key == "minimum_age":
            return f"the minimum signup age is now {_was(after)} (was {_was(before)})"
        if key == "rule":
            return f"the age gate is now decided by rule {_rule(after)} (was {_rule(before)})"
        return f"the age gate's {key.replace('_', ' ')} is now {_was(after)} (was {_was(before)})"
    section, item_id = parts[0], parts[1]
    title = _title(ruleset, section, item_id)
    if len(parts) == 2:
        if after == "present":
            return f"now gets the {SECTION_NOUN[section]} {title}"
        return f"no longer gets the {SECTION_NOUN[section]} {title}"
    key = parts[2]
    if key == "mechanism" and after in MECHANISM:
        return f"{title} now {MECHANISM[after]} (before: {MECHANISM.get(before, _was(before))})"
    if key == "default":
        return f"{title} is now {_was(after)} by default (was {_was(before)})"
    if key == "gpc_applied":
        return (f"GPC now turns {title} off" if after else f"GPC no longer turns {title} off")
    if key == "consent_by" and after in CONSENT_BY:
        return f"for {title}, {CONSENT_BY[after]} (before: {CONSENT_BY.get(before, _was(before))})"
    if key == "rule":
        return f"{title} is now decided by rule {_rule(after)} (was {_rule(before)})"
    return f"{title}: {key.replace('_', ' ')} is now {_was(after)} (was {_was(before)})"


def sentence(change: Change, ruleset: RuleSet) -> str:
    """`Denmark, ages 13-14: a parent must now consent ...` with GPC, context and date."""
    place = ruleset.jurisdictions.get(change.jurisdiction)
    name = place.name if place else change.jurisdiction
    who = [change.ages]
    if change.gpc is not None:
        who.append("with GPC" if change.gpc else "without GPC")
    if change.context == "school":
        who.append("school accounts")
    elif change.context == "consumer":
        who.append("consumer accounts")
    when = f" from {change.as_of.isoformat()}" if change.as_of else ""
    return f"{name}, {', '.join(who)}{when}: {what_changed(change, ruleset)}"


def readable(changes: list[Change]) -> list[Change]:
    """The changes worth a sentence: when an item itself appears or disappears, the
    changes of its fields (mechanism, default, deciding rule...) are not news."""
    appeared = {(c.jurisdiction, c.as_of, c.what) for c in changes
                if c.what.count(".") == 1 and not c.what.startswith("age_gate")}
    return [c for c in changes
            if c.what.count(".") < 2 or c.what.startswith("age_gate")
            or (c.jurisdiction, c.as_of, c.what.rsplit(".", 1)[0]) not in appeared]
