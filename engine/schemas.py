"""Marshmallow schemas for the rule files: types and required keys, nothing more.

Cross-file checks (unknown ids, contradictions, gaps) live in `validate.py`; these
schemas only say what shape each file has. Unknown keys are errors, so a typo such
as `citaton:` fails loudly instead of being ignored.
"""

from __future__ import annotations

import re
from datetime import date

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from .model import (
    AGE_GATE_STATUSES,
    CONSENT_BY,
    CONTEXTS,
    KNOWLEDGE,
    LEGAL_STATUSES,
    MAX_AGE,
    MECHANISMS,
)

CODE_RE = re.compile(r"^(DEFAULT|[A-Z]{2,3}(-[A-Z0-9]{1,3})?)$")
RULE_ID_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
CATALOG_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
DURATION_RE = re.compile(r"^P(\d+[YMWD])+$")


class Strict(Schema):
    class Meta:
        unknown = RAISE


class OnOff(fields.Field):
    """'on'/'off' (YAML 1.1 also reads bare on/off as booleans; accept both)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value is True or value == "on":
            return "on"
        if value is False or value == "off":
            return "off"
        raise ValidationError("must be 'on' or 'off'")


class Flag(fields.Field):
    """true or false, nothing else (no 'yes', 1 or "true" strings)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            return value
        raise ValidationError("must be true or false")


class Day(fields.Field):
    """A calendar date written as YYYY-MM-DD."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise ValidationError("must be a date written YYYY-MM-DD")


class TextOrList(fields.Field):
    """One string or a list of strings; always deserialised to a tuple."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return tuple(value)
        if value == []:
            raise ValidationError("an empty list matches nowhere; name a code or leave it out")
        raise ValidationError("must be a code or a list of codes")


Status = fields.String(validate=validate.OneOf(LEGAL_STATUSES))
Citation = fields.String(validate=validate.Length(min=1))
Duration = fields.String(
    validate=validate.Regexp(DURATION_RE, error="must be an ISO 8601 duration such as P1M or P30D"),
    allow_none=True,
)
Age = fields.Integer(strict=True, validate=validate.Range(0, MAX_AGE + 1))


# -- jurisdictions.yaml -----------------------------------------------------------


class AuthoritySchema(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1))
    # null where the legal team found no official address (better none than a guess).
    url = fields.Url(required=True, allow_none=True, schemes={"https", "http"})
    status = fields.String(required=True, validate=validate.OneOf(LEGAL_STATUSES))
    notes = fields.String()
    co_enforcer = fields.Dict(keys=fields.String(), values=fields.String())


class JurisdictionSchema(Strict):
    name = fields.String(required=True)
    kind = fields.String(
        load_default="country",
        validate=validate.OneOf(("region", "country", "subdivision", "default")),
    )
    parent = fields.String()
    frameworks = fields.List(fields.String(), validate=validate.Length(min=1))
    aliases = fields.List(fields.String(validate=validate.Length(min=2)))
    modelled = Flag()
    territories = fields.List(fields.String(validate=validate.Regexp(
        CODE_RE, error="not an ISO 3166 code")))
    authority = fields.Nested(AuthoritySchema, allow_none=True, required=True)


class JurisdictionsFileSchema(Strict):
    jurisdictions = fields.Dict(
        keys=fields.String(validate=validate.Regexp(CODE_RE, error="not an ISO 3166 code")),
        values=fields.Nested(JurisdictionSchema),
        required=True,
    )


# -- catalog.yaml -----------------------------------------------------------------


class CatalogItemSchema(Strict):
    title = fields.String(required=True, validate=validate.Length(min=1))
    text = fields.String(required=True, validate=validate.Length(min=1))
    placeholders = fields.List(fields.String())


class FrameworkTitleSchema(Strict):
    title = fields.String(required=True, validate=validate.Length(min=1))


def _catalog_section() -> fields.Dict:
    return fields.Dict(
        keys=fields.String(validate=validate.Regexp(CATALOG_ID_RE)),
        values=fields.Nested(CatalogItemSchema),
        required=True,
    )


class CatalogFileSchema(Strict):
    age_gate = _catalog_section()
    rights = _catalog_section()
    opt_outs = _catalog_section()
    notices = _catalog_section()
    # Other words for an item where a law uses its own (a state's "sale"), chosen by an
    # effect's `wording:`.
    wordings = fields.Dict(
        keys=fields.String(validate=validate.Regexp(CATALOG_ID_RE)),
        values=fields.Nested(CatalogItemSchema),
        load_default=dict,
    )
    frameworks = fields.Dict(
        keys=fields.String(), values=fields.Nested(FrameworkTitleSchema), required=True
    )


# -- policy.yaml ------------------------------------------------------------------


class PolicyFileSchema(Strict):
    minimum_signup_age = fields.Integer(strict=True, required=True, validate=validate.Range(0, 21))
    consent_age_where_law_is_silent = fields.Integer(
        strict=True, required=True, validate=validate.Range(0, 21)
    )
    honour_gpc_outside_california = Flag(required=True)
    minimum_signup_age_in_school_context = fields.Integer(
        strict=True, validate=validate.Range(0, 21), load_default=None)
    established_in = fields.List(fields.String(validate=validate.Regexp(
        CODE_RE, error="not an ISO 3166 code")), load_default=list)
    online_platform = Flag(load_default=False)
    offers_financial_incentives = Flag(load_default=False)
    serves_k12_schools = Flag(load_default=False)
    predominantly_accessed_by_children = Flag(load_default=False)


# -- frameworks/*.yaml ------------------------------------------------------------


class AgeSchema(Strict):
    at_least = Age
    below = Age

    @validates_schema
    def _range(self, data: dict, **kwargs: object) -> None:
        if not data:
            raise ValidationError("give at_least, below or both")
        low, high = data.get("at_least"), data.get("below")
        if low is not None and high is not None and low >= high:
            raise ValidationError(f"empty age range: at_least {low} is not below {high}")


class PolicyConditionSchema(Strict):
    online_platform = Flag()
    offers_financial_incentives = Flag()
    serves_k12_schools = Flag()
    predominantly_accessed_by_children = Flag()
    established_outside = TextOrList()

    @validates_schema
    def _not_empty(self, data: dict, **kwargs: object) -> None:
        if not data:
            raise ValidationError("name at least one policy.yaml setting")


class WhenSchema(Strict):
    jurisdiction = TextOrList()
    age = fields.Nested(AgeSchema)
    include_unknown_age = Flag()
    gpc = Flag()
    context = fields.String(validate=validate.OneOf(CONTEXTS))
    policy = fields.Nested(PolicyConditionSchema)


class ResponseSchema(Strict):
    deadline = Duration
    extension = Duration
    acknowledge = Duration
    business_days = Flag()
    acknowledge_business_days = Flag()
    stop_the_clock = Flag()
    citation = fields.String()
    notes = fields.String()


class AgeGateEffectSchema(Strict):
    digital_consent_age = fields.Integer(
        strict=True, allow_none=True, required=True, validate=validate.Range(0, 21)
    )
    status = fields.String(validate=validate.OneOf(AGE_GATE_STATUSES[:2]))
    consent_by = fields.String(validate=validate.OneOf(CONSENT_BY[1:]))
    knowledge = fields.String(validate=validate.OneOf(KNOWLEDGE))


class ItemEffectSchema(Strict):
    id = fields.String(required=True)
    citation = Citation
    status = Status
    notes = fields.String()
    modify = Flag()
    wording = fields.String(validate=validate.Regexp(CATALOG_ID_RE))


class RightEffectSchema(ItemEffectSchema):
    response = fields.Nested(ResponseSchema, allow_none=True)
    absolute = Flag()


class OptOutEffectSchema(ItemEffectSchema):
    mechanism = fields.String(validate=validate.OneOf(MECHANISMS))
    default = OnOff()
    consent_by = fields.String(validate=validate.OneOf(CONSENT_BY))
    knowledge = fields.String(validate=validate.OneOf(KNOWLEDGE))
    gpc_applied = Flag()
    exemptions = fields.List(fields.String())


class NoticeEffectSchema(ItemEffectSchema):
    pass


class ThenSchema(Strict):
    age_gate = fields.Nested(AgeGateEffectSchema)
    rights = fields.List(fields.Nested(RightEffectSchema))
    opt_outs = fields.List(fields.Nested(OptOutEffectSchema))
    notices = fields.List(fields.Nested(NoticeEffectSchema))
    response = fields.Nested(ResponseSchema)

    @validates_schema
    def _not_empty(self, data: dict, **kwargs: object) -> None:
        if not any(data.get(k) for k in ("age_gate", "rights", "opt_outs", "notices")):
            raise ValidationError("a rule must have at least one effect")


def _check_dates(data: dict) -> None:
    start, end = data.get("effective_from"), data.get("effective_until")
    if start and end and end < start:
        raise ValidationError(
            f"effective_until {end} is before effective_from {start}", "effective_until"
        )


class RuleSchema(Strict):
    id = fields.String(
        required=True,
        validate=validate.Regexp(RULE_ID_RE, error="rule ids look like 'framework.topic'"),
    )
    summary = fields.String(required=True, validate=validate.Length(min=1))
    when = fields.Nested(WhenSchema)
    effective_from = Day()
    effective_until = Day()
    overrides = fields.List(fields.String())
    then = fields.Nested(ThenSchema, required=True)
    citation = fields.String(required=True, validate=validate.Length(min=1))
    status = fields.String(required=True, validate=validate.OneOf(LEGAL_STATUSES))
    source = fields.String(required=True, validate=validate.Length(min=1))
    notes = fields.String()

    @validates_schema
    def _dates(self, data: dict, **kwargs: object) -> None:
        _check_dates(data)


class FrameworkFileSchema(Strict):
    framework = fields.String(required=True)
    law = fields.String(required=True)
    basis = fields.String(validate=validate.OneOf(("law", "policy")))
    source_url = fields.Url()
    effective_from = Day()
    effective_until = Day()
    replaces = fields.List(fields.String())
    rules = fields.List(fields.Nested(RuleSchema), required=True, validate=validate.Length(min=1))

    @validates_schema
    def _dates(self, data: dict, **kwargs: object) -> None:
        _check_dates(data)


# -- cases/*.yaml -----------------------------------------------------------------


class CaseInputSchema(Strict):
    jurisdiction = fields.String(allow_none=True)
    age = fields.Integer(strict=True, validate=validate.Range(0, MAX_AGE))
    birthdate = Day()
    gpc = Flag()
    as_of = Day()
    context = fields.String(validate=validate.OneOf(CONTEXTS))
    locale = fields.String()


class CaseSchema(Strict):
    name = fields.String(required=True)
    input = fields.Nested(CaseInputSchema, required=True)
    expect = fields.Dict(required=True)


class CasesFileSchema(Strict):
    cases = fields.List(fields.Nested(CaseSchema), required=True)
