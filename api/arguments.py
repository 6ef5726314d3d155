"""Request schemas: every query string and body is loaded through one of these.

Query strings carry text, so their fields parse text strictly (`13`, not `13.0` or
`+13`); JSON bodies carry types, so their fields take exactly the JSON type (`13`,
not `"13"` or `true`). Both produce the same DecisionArgs, so GET and POST agree.
Unknown fields are errors; an empty query value or a JSON null means "not given".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)
from werkzeug.datastructures import MultiDict

from engine.ages import age_on
from engine.model import CONTEXTS, MAX_AGE

from .errors import FieldError, flatten_messages, validation_problem

MAX_JURISDICTION = 64
MAX_LOCALE = 64
DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
INT_RE = re.compile(r"^-?[0-9]{1,12}$")
# BCP 47 shape (language, then subtags); `_` is accepted for `-` as many clients send it.
LOCALE_RE = re.compile(r"^[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*$")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def today_utc() -> date:
    """Return today's date in UTC (the default `as_of`)."""
    return datetime.now(UTC).date()


# -- fields ------------------------------------------------------------------------


class CalendarDate(fields.Date):
    """A real calendar date written exactly YYYY-MM-DD."""

    default_error_messages = {  # noqa: RUF012 (marshmallow merges these per class)
        "invalid": "must be a date written YYYY-MM-DD",
        "format": "must be a date written YYYY-MM-DD",
        "invalid_date": "is not a real calendar date",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        if not isinstance(value, str) or not DATE_RE.match(value):
            raise self.make_error("invalid")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise self.make_error("invalid_date") from None


class QueryInteger(fields.Integer):
    """An integer written in decimal digits (no sign but '-', no decimals, no spaces)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if not isinstance(value, str) or not INT_RE.match(value):
            raise self.make_error("invalid")
        return int(value)


class QueryBoolean(fields.Boolean):
    """`true`, `false`, `1` or `0` (any case), nothing else."""

    default_error_messages = {"invalid": "must be true, false, 1 or 0"}  # noqa: RUF012

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        text = value.lower() if isinstance(value, str) else None
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise self.make_error("invalid")


class JsonBoolean(fields.Boolean):
    """A JSON true or false, nothing else."""

    default_error_messages = {"invalid": "must be true or false"}  # noqa: RUF012

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if isinstance(value, bool):
            return value
        raise self.make_error("invalid")


def _no_control(value: str) -> bool:
    if CONTROL_RE.search(value):
        raise ValidationError("must not contain control characters")
    return True


_CONTEXT_CHECK = validate.OneOf(CONTEXTS, error="must be consumer or school")
_AGE_RANGE = validate.Range(0, MAX_AGE, error="must be between 0 and 130")
_JURISDICTION_CHECKS = [validate.Length(max=MAX_JURISDICTION), _no_control]
_LOCALE_CHECKS = [
    validate.Length(max=MAX_LOCALE),
    validate.Regexp(LOCALE_RE, error="must be a BCP 47 language tag such as fr or fr-CA"),
]

DOCS = {
    "jurisdiction": {
        "description": "ISO 3166-1 alpha-2 (DE), ISO 3166-2 (US-CA, CA-QC) or alias (UK, EL, EEA, EU, "
                       "California); case-insensitive, `_` = `-`. Missing or not modelled (BR, US-TX) "
                       "-> the DEFAULT regime. `CA` is Canada.",
        "example": "DE",
    },
    "age": {"description": "Age in whole years, 0-130. Not together with birthdate.", "example": 15},
    "birthdate": {"description": "Date of birth, YYYY-MM-DD; the age is computed as of `as_of` "
                                 "(a 29 February birthday counts from 1 March in common years). Not "
                                 "together with age; not after as_of; at most 130 years before it.",
                  "example": "2010-05-17"},
    "gpc": {"description": "Global Privacy Control. The `Sec-GPC: 1` request header also makes it true.",
            "example": True},
    "locale": {"description": "BCP 47 language tag; wins over Accept-Language. An unshipped language "
                              "falls back to the closest shipped one, then English; Content-Language "
                              "says which was served.", "example": "fr-CA"},
    "as_of": {"description": "Evaluate the rules in force on this date (YYYY-MM-DD); default today (UTC). "
                             "A date before every law modelled for the place is refused (422) with "
                             "the earliest supported date.",
              "example": "2026-01-01"},
    "context": {"description": "consumer (default), or school: the account is provided through a "
                               "school (COPPA school authorisation, FERPA, student-privacy laws).",
                "example": "school"},
}


# -- schemas -----------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionArgs:
    """A validated decision request (the birthdate, if any, is already an age)."""

    jurisdiction: str | None
    age: int | None
    gpc: bool
    locale: str | None
    as_of: date
    context: str = "consumer"


class _DecisionLoad(Schema):
    class Meta:
        unknown = RAISE

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _not_both(self, data: dict[str, Any], original_data: Any, **kwargs: Any) -> None:
        # Looks at what was sent, so it is reported even when one of the two is also invalid.
        if not isinstance(original_data, dict):
            return
        if all(original_data.get(k) not in (None, "") for k in ("age", "birthdate")):
            both = "give either age or birthdate, not both"
            raise ValidationError({"age": [both], "birthdate": [both]})

    @post_load
    def _to_args(self, data: dict[str, Any], **kwargs: Any) -> DecisionArgs:
        as_of = data.get("as_of") or today_utc()
        age = data.get("age")
        birthdate = data.get("birthdate")
        if birthdate is not None:
            if birthdate > as_of:
                raise ValidationError("must not be after as_of (or today)", "birthdate")
            age = age_on(birthdate, as_of)
            if age > MAX_AGE:
                raise ValidationError("gives an age above 130", "birthdate")
        return DecisionArgs(
            jurisdiction=data.get("jurisdiction"),
            age=age,
            gpc=bool(data.get("gpc")),
            locale=data.get("locale"),
            as_of=as_of,
            context=data.get("context") or "consumer",
        )


class DecisionQuerySchema(_DecisionLoad):
    """Query parameters of GET /v1/decision."""

    jurisdiction = fields.String(validate=_JURISDICTION_CHECKS, metadata=DOCS["jurisdiction"])
    age = QueryInteger(validate=_AGE_RANGE, metadata=DOCS["age"])
    birthdate = CalendarDate(metadata=DOCS["birthdate"])
    gpc = QueryBoolean(metadata={**DOCS["gpc"], "description": DOCS["gpc"]["description"]
                                 + " Written true, false, 1 or 0."})
    locale = fields.String(validate=_LOCALE_CHECKS, metadata=DOCS["locale"])
    as_of = CalendarDate(metadata=DOCS["as_of"])
    context = fields.String(validate=_CONTEXT_CHECK, metadata=DOCS["context"])

    @pre_load
    def _drop_empty(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        # `?age=` is what a form sends for an empty input: treat it as not given.
        return {k: v for k, v in data.items() if v != ""}


class DecisionBodySchema(_DecisionLoad):
    """JSON body of POST /v1/decision."""

    jurisdiction = fields.String(allow_none=True, validate=_JURISDICTION_CHECKS,
                                 metadata=DOCS["jurisdiction"])
    age = fields.Integer(strict=True, allow_none=True, validate=_AGE_RANGE, metadata=DOCS["age"])
    birthdate = CalendarDate(allow_none=True, metadata=DOCS["birthdate"])
    gpc = JsonBoolean(allow_none=True, metadata=DOCS["gpc"])
    locale = fields.String(allow_none=True, validate=_LOCALE_CHECKS, metadata=DOCS["locale"])
    as_of = CalendarDate(allow_none=True, metadata=DOCS["as_of"])
    context = fields.String(allow_none=True, validate=_CONTEXT_CHECK, metadata=DOCS["context"])


class LocaleQuerySchema(Schema):
    """Query parameters of the reference endpoints (jurisdictions, catalog, locales)."""

    class Meta:
        unknown = RAISE

    locale = fields.String(validate=_LOCALE_CHECKS, metadata=DOCS["locale"])

    @pre_load
    def _drop_empty(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {k: v for k, v in data.items() if v != ""}


class EmptyQuerySchema(Schema):
    """No query parameters at all."""

    class Meta:
        unknown = RAISE


# -- loading -----------------------------------------------------------------------


def _explain_unknown(schema: Schema, errors: list[FieldError], what: str) -> list[FieldError]:
    known = ", ".join(schema.fields) or "none"
    return [FieldError(e.field, e.location, f"unknown {what}; the {what}s are: {known}")
            if e.message == "Unknown field." else e for e in errors]


def load_query(schema: Schema, args: MultiDict) -> Any:
    """Load query parameters through `schema`, or raise a 422 problem naming each bad one."""
    errors = [FieldError(key, "query", "given more than once; give it once")
              for key in args if len(args.getlist(key)) > 1]
    loaded = None
    try:
        loaded = schema.load(args.to_dict(flat=True))
    except ValidationError as error:
        errors.extend(_explain_unknown(schema, flatten_messages(error.messages, "query"), "parameter"))
    if errors:
        raise validation_problem(errors)
    return loaded


def load_body(schema: Schema, data: dict[str, Any]) -> Any:
    """Load a decoded JSON object through `schema`, or raise a 422 problem."""
    try:
        return schema.load(data)
    except ValidationError as error:
        errors = _explain_unknown(schema, flatten_messages(error.messages, "body"), "field")
        raise validation_problem(errors) from None
