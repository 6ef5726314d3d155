"""Request arguments: the schemas, the strict JSON body reader, and the fast path.

Query strings carry text, so their fields parse text strictly (`13`, not `13.0` or
`+13`); JSON bodies carry types, so their fields take exactly the JSON type (`13`,
not `"13"` or `true`). Both produce the same DecisionArgs, so GET and POST agree.
Unknown fields are errors; an empty query value or a JSON null means "not given".

The marshmallow schemas are the contract (and what /openapi.json shows). Running them
costs ~100 µs a request, so the common shape of a decision request (the six known
fields, each plainly valid) is checked by `fast_query` / `fast_body`, hand-written
restatements of the same rules that answer None for anything they are not sure of;
the schemas then decide, errors included. tests/api/test_fast_path.py proves with
hypothesis that the fast path never disagrees with the schemas.

The work per request is bounded whatever is sent: at most MAX_ERRORS errors are
reported (then one "and N more"), and a request with more unknown fields than that
is refused before marshmallow builds an error for each.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from datetime import date
from typing import Any, NamedTuple

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
from werkzeug.datastructures import Headers, MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.sansio.request import Request as SansioRequest

from engine.ages import age_on
from engine.jurisdictions import MAX_INPUT
from engine.model import CONTEXTS, MAX_AGE

from .errors import MAX_ERRORS, ApiProblem, FieldError, flatten_messages, validation_problem

MAX_JURISDICTION = MAX_INPUT  # what engine.jurisdictions accepts
MAX_LOCALE = 64
DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
INT_RE = re.compile(r"^-?[0-9]{1,12}$")
# BCP 47 shape (language, then subtags); `_` is accepted for `-` as many clients send it.
LOCALE_RE = re.compile(r"^[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*$")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
# A ruleset.version as responses carry it (api.archive.VERSION_RE).
RULESET_VERSION_RE = re.compile(r"\A[0-9a-f]{16}\Z")


EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_today: tuple[int, date] = (-1, date(1970, 1, 1))  # (days since the epoch, that date): one attribute


def today_utc() -> date:
    """Return today's date in UTC (the default `as_of`)."""
    global _today
    day = int(time.time() // 86400)
    if _today[0] != day:
        # datetime.now(UTC).date() costs more than the rest of a fast-path request.
        _today = (day, date.fromordinal(EPOCH_ORDINAL + day))
    return _today[1]


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
_VERSION_CHECK = validate.Regexp(RULESET_VERSION_RE, error="must be a ruleset.version: 16 hex digits "
                                                           "(0-9, a-f) as responses carry it")

DOCS = {
    "jurisdiction": {
        "description": "ISO 3166-1 alpha-2 (DE), ISO 3166-2 (US-CA, CA-QC) or alias (UK, EL, EEA, EU, "
                       "California); case-insensitive, `_` = `-`. Not modelled (ZW) -> the DEFAULT "
                       "regime. Missing -> the DEFAULT regime, or, when the operator trusts an edge's "
                       "geolocation headers, the place they name (`matched: edge_header`). `CA` is Canada.",
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
    "version": {"description": "Replay: answer with this earlier rule set (a `ruleset.version` from an "
                               "earlier response) instead of the current one, as it answered then "
                               "(same body and ETag while the translations are unchanged). It must be "
                               "one of the last rule sets this service activated "
                               "(RIGHTSGATE_ARCHIVE_VERSIONS); otherwise 422 naming `version`. "
                               "Combines with as_of. The first request for a version not in memory "
                               "loads it (about half a second).",
                "example": "e08317d5dcba098a"},
}


# -- schemas -----------------------------------------------------------------------


class DecisionArgs(NamedTuple):
    """A validated decision request (the birthdate, if any, is already an age).

    A NamedTuple, not a frozen dataclass: it is built on every new request, and a frozen
    dataclass's __init__ costs ~1 µs of the fast path's ~5.
    """

    jurisdiction: str | None
    age: int | None
    gpc: bool
    locale: str | None
    as_of: date
    context: str = "consumer"
    version: str | None = None  # an earlier rule set to answer with (None: the current one)


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
            version=data.get("version"),
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
    version = fields.String(validate=_VERSION_CHECK, metadata=DOCS["version"])

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
    version = fields.String(allow_none=True, validate=_VERSION_CHECK, metadata=DOCS["version"])


class LocaleQuerySchema(Schema):
    """Query parameters of the reference endpoints (jurisdictions, catalog, locales)."""

    class Meta:
        unknown = RAISE

    locale = fields.String(validate=_LOCALE_CHECKS, metadata=DOCS["locale"])

    @pre_load
    def _drop_empty(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {k: v for k, v in data.items() if v != ""}


class ChangesQuerySchema(Schema):
    """Query parameters of GET /v1/changes."""

    class Meta:
        unknown = RAISE

    since = fields.String(required=True, validate=_VERSION_CHECK, metadata={
        "description": "The older rule set version (a `ruleset.version` from a response); one of the "
                       "last rule sets this service activated (RIGHTSGATE_ARCHIVE_VERSIONS), else 422.",
        "example": "e08317d5dcba098a"})
    until = fields.String(validate=_VERSION_CHECK, metadata={
        "description": "The newer rule set version; default the current one. Same rules as `since`.",
        "example": "5a0c2e9f7b1d3c44"})

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


def _too_many_unknown(schema: Schema, names: Any, location: str, what: str) -> None:
    """Refuse at once when more names are unknown than we would report.

    marshmallow builds an error per unknown field (thousands for a 64 KiB body); the
    answer would list only MAX_ERRORS of them anyway.
    """
    unknown = [name for name in names if name not in schema.fields]
    if len(unknown) > MAX_ERRORS:
        known = ", ".join(schema.fields) or "none"
        raise validation_problem([FieldError(str(name), location, f"unknown {what}; the {what}s are: {known}")
                                  for name in unknown[:MAX_ERRORS]], more=len(unknown) - MAX_ERRORS)


def load_query(schema: Schema, args: MultiDict) -> Any:
    """Load query parameters through `schema`, or raise a 422 problem naming each bad one."""
    _too_many_unknown(schema, args.keys(), "query", "parameter")
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
    _too_many_unknown(schema, data.keys(), "body", "field")
    try:
        return schema.load(data)
    except ValidationError as error:
        errors = _explain_unknown(schema, flatten_messages(error.messages, "body"), "field")
        raise validation_problem(errors) from None


def parse_query(query_string: bytes) -> MultiDict:
    """The query string parsed exactly as werkzeug's `request.args` parses it."""
    return SansioRequest("GET", "http", None, "", "/", query_string, Headers(), None).args


# -- the fast path -------------------------------------------------------------------

_FIELDS = frozenset(("jurisdiction", "age", "birthdate", "gpc", "locale", "as_of", "context", "version"))
# Bytes a query string can hold that werkzeug passes through undecoded: no `%`, no `+`,
# nothing outside ASCII. Anything else goes to the schemas.
_PLAIN_QUERY = re.compile(rb"[A-Za-z0-9_.=&-]*")


def _fast_date(value: Any) -> date | None:
    if type(value) is not str or not DATE_RE.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _fast_args(data: Mapping[str, Any], text: bool) -> DecisionArgs | None:
    """DecisionArgs for plainly valid values (`text`: query strings), else None.

    Each check restates a schema rule above; None means "ask the schemas", never
    "invalid", so the fast path can only be wrong by answering where the schemas
    would not, which the property test rules out.
    """
    jurisdiction = data.get("jurisdiction")
    # isprintable() is false for every control character (and more), so a printable
    # value needs no search; it is ~4x cheaper than the regex.
    if jurisdiction is not None and (type(jurisdiction) is not str or not 0 < len(jurisdiction)
                                     <= MAX_JURISDICTION or (not jurisdiction.isprintable()
                                                             and CONTROL_RE.search(jurisdiction))):
        return None
    age = data.get("age")
    if age is not None:
        if text:
            if type(age) is not str or not INT_RE.match(age):
                return None
            age = int(age)
        elif type(age) is not int:
            return None
        if not 0 <= age <= MAX_AGE:
            return None
    gpc = data.get("gpc")
    if gpc is not None:
        if text:
            lowered = gpc.lower() if type(gpc) is str else None
            if lowered in ("true", "1"):
                gpc = True
            elif lowered in ("false", "0"):
                gpc = False
            else:
                return None
        elif type(gpc) is not bool:
            return None
    locale = data.get("locale")
    if locale is not None and (type(locale) is not str or len(locale) > MAX_LOCALE
                               or not LOCALE_RE.match(locale)):
        return None
    context = data.get("context")
    if context is not None and context not in CONTEXTS:
        return None
    version = data.get("version")
    if version is not None and (type(version) is not str or not RULESET_VERSION_RE.match(version)):
        return None
    raw_as_of = data.get("as_of")
    if raw_as_of is None:
        as_of = today_utc()
    else:
        as_of = _fast_date(raw_as_of)
        if as_of is None:
            return None
    raw_birthdate = data.get("birthdate")
    if raw_birthdate is not None:
        if age is not None:
            return None  # both given: the schemas word that error
        birthdate = _fast_date(raw_birthdate)
        if birthdate is None or birthdate > as_of:
            return None
        age = age_on(birthdate, as_of)
        if age > MAX_AGE:
            return None
    # Positional: a NamedTuple's keyword call costs ~300 ns more (its __new__ is Python).
    return DecisionArgs(jurisdiction, age, bool(gpc), locale, as_of, context or "consumer", version)


def fast_query(query_string: bytes) -> DecisionArgs | None:
    """The DecisionArgs of a plain, valid decision query string, or None (use the schemas)."""
    if not _PLAIN_QUERY.fullmatch(query_string):
        return None
    data: dict[str, str] = {}
    seen: set[str] = set()
    if query_string:
        for part in query_string.decode("ascii").split("&"):  # ASCII: the pattern above says so
            name, sep, value = part.partition("=")
            if not sep or name not in _FIELDS or name in seen:
                return None
            seen.add(name)
            if value:  # `?age=` is "not given", as in DecisionQuerySchema
                data[name] = value
    return _fast_args(data, text=True)


def fast_body(data: dict[str, Any]) -> DecisionArgs | None:
    """The DecisionArgs of a decoded JSON body of known, plainly valid fields, or None."""
    for name, value in data.items():
        if name not in _FIELDS or value == "":
            return None
    return _fast_args(data, text=False)


# -- the POST body ------------------------------------------------------------------

JSON_TYPES = ("application/json",)


def check_json_request(mimetype: str, mimetype_params: Mapping[str, str],
                       content_encoding: str | None) -> None:
    """Refuse (415) a body that is not identity-coded UTF-8 application/json."""
    if mimetype not in JSON_TYPES:
        raise ApiProblem("unsupported-media-type",
                         "Send the body as Content-Type: application/json.",
                         [FieldError("Content-Type", "header", "must be application/json")],
                         {"Accept-Post": "application/json"})
    if (content_encoding or "identity").strip().lower() not in ("identity", ""):
        raise ApiProblem("unsupported-media-type", "Send the body without a content coding (no gzip).",
                         [FieldError("Content-Encoding", "header", "must be identity")],
                         {"Accept-Encoding": "identity"})
    charset = mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise ApiProblem("unsupported-media-type", "JSON bodies must be UTF-8.",
                         [FieldError("Content-Type", "header", "charset must be utf-8")],
                         {"Accept-Post": "application/json"})


def read_body(environ: dict[str, Any], content_length: int | None, limit: int | None,
              get_data: Any) -> bytes:
    """Return the request body, or raise 413 past `limit` (chunked or not).

    `get_data` reads a body whose length is known (werkzeug's, which refuses a long
    Content-Length up front).
    """
    if content_length is not None or limit is None:
        return get_data(cache=False)
    if not environ.get("wsgi.input_terminated"):
        return b""  # no length and no de-chunking server: nothing can be read safely
    # Werkzeug's max-length stream stops quietly at the limit and would hand us a
    # truncated body; read one byte past the limit ourselves to tell "too large".
    stream = environ["wsgi.input"]
    chunks, size = [], 0
    while size <= limit:
        chunk = stream.read(min(64 * 1024, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise RequestEntityTooLarge()
    return b"".join(chunks)


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """Return the body as a JSON object, or raise a 400 problem (422 for a repeated key)."""
    if not raw.strip():
        raise ApiProblem("malformed-body", "The body is empty; send a JSON object such as "
                         '{"jurisdiction": "DE", "age": 15}.', [FieldError(None, "body", "empty body")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiProblem("malformed-body", "The body is not valid UTF-8.",
                         [FieldError(None, "body", "not valid UTF-8")]) from None
    if text[0] == "\ufeff":
        text = text[1:]  # a byte order mark is tolerated (RFC 8259 §8.1)
    try:
        data = _decode(text)
    except _DuplicateKey as duplicate:
        raise validation_problem([FieldError(duplicate.key, "body", "given more than once; give it once")]
                                 ) from None
    except (ValueError, RecursionError) as error:
        # json's messages name a position only, never the content, so they are safe to show.
        where = f" ({error})" if isinstance(error, json.JSONDecodeError) else ""
        raise ApiProblem("malformed-body", f"The body is not valid JSON{where}.",
                         [FieldError(None, "body", "not valid JSON")]) from None
    if not isinstance(data, dict):
        raise ApiProblem("malformed-body", f"The body must be a JSON object, not {_json_kind(data)}.",
                         [FieldError(None, "body", "must be a JSON object")])
    return data


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Python keeps the last of two equal keys silently; a caller sending both surely erred.
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# One decoder for every body: json.loads with arguments builds a new one per call (~2 µs).
_DECODER = json.JSONDecoder(parse_constant=_no_constants, object_pairs_hook=_unique_keys)


def _decode(text: str) -> Any:
    """What `_DECODER.decode(text)` returns or raises.

    decode() skips whitespace around the value (two regex matches) in two Python frames,
    a third of a small body's decoding. A body that is exactly one object needs none of
    it: scan it directly. Anything else, errors included, is decode()'s to answer, so
    every message stays json's own (scanning is deterministic: it fails again there).
    """
    if text.startswith("{"):  # not text[0]: a body of only a byte order mark leaves ""
        try:
            data, end = _DECODER.scan_once(text, 0)
        except (ValueError, StopIteration, RecursionError):
            pass
        else:
            if end == len(text):
                return data
    return _DECODER.decode(text)


def _json_kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")
