"""GET and POST /v1/decision: what applies to this person, here and now.

The request path is split in two. The views below do what needs the web framework
(the request object, the POST body checks, the response headers). `decide_query` and
`decide_body` do the rest without it: from the raw query (or body bytes) and two
headers to the encoded answer, i.e. normalise (schemas, jurisdiction, locale), look up
(the Snapshot's input class), localise and serialise (cached). bench/inprocess.py
times exactly these functions, so the benchmark measures the code that serves.

A raw input answered before under the same Active (rule set, translations) and, when
it names no `as_of`, on the same UTC day, is answered from `Active.answers` without
running the schemas again: the answer is a pure function of exactly that input, and
only successful answers are remembered. See bench/results.md for why (the schemas
cost ~20 µs, the lookup well under 1 µs).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from time import time as _now
from typing import Any

from flask import Blueprint, Request, Response, current_app, request
from werkzeug.datastructures import Headers, MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.sansio.request import Request as SansioRequest

from engine import DateNotModelled, InvalidJurisdiction
from engine.render import render_decision

from ..arguments import DecisionArgs, DecisionBodySchema, DecisionQuerySchema, load_body, load_query
from ..errors import ApiProblem, FieldError, validation_problem
from ..etag import AnswerMemo, CachedBody, make_etag, send_cached
from ..logging import annotate
from ..negotiation import served_locale
from ..reload import Active
from ..responses import DecisionSchema
from . import encode, reloader

bp = Blueprint("decision", __name__, url_prefix="/v1")

QUERY_SCHEMA = DecisionQuerySchema()
BODY_SCHEMA = DecisionBodySchema()
RESPONSE_SCHEMA = DecisionSchema()
VARY = ("Accept-Language", "Sec-GPC")
JSON_TYPES = ("application/json",)
# Inputs bigger than this are answered but not remembered (a real request is ~100 bytes;
# this bounds what the memo can hold whatever clients send).
MAX_MEMO_INPUT = 1024
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@dataclass(frozen=True, slots=True)
class Answer(CachedBody):
    """The encoded decision for one request (body, ETag), and what its headers and log need."""

    locale: str  # the served locale (Content-Language)
    jurisdiction: str  # the resolved code
    version: str  # the ruleset version


def parse_query(query_string: bytes) -> MultiDict:
    """The query string parsed exactly as werkzeug's `request.args` parses it."""
    return SansioRequest("GET", "http", None, "", "/", query_string, Headers(), None).args


# The memo keys: (kind, raw input, Sec-GPC, Accept-Language); the memo holds one UTC day.
_QUERY, _BODY = 0, 1


def decide_query(active: Active, query_string: bytes, headers: Mapping[str, str],
                 args: Callable[[], MultiDict] | None = None) -> Answer:
    """Answer GET /v1/decision from its raw query string and headers, or raise an ApiProblem.

    `args` returns the parsed query (the view passes `request.args` lazily, so a
    remembered answer never parses the query); by default it is parsed here.
    """
    def compute() -> tuple[Answer, DecisionArgs, bool]:
        query = args() if args is not None else parse_query(query_string)
        with _also_checking_jurisdiction(active, query.get("jurisdiction"), "query"):
            loaded = load_query(QUERY_SCHEMA, query)
        return (_answer(active, loaded, headers.get("Sec-GPC"), headers.get("Accept-Language"),
                        "query"), loaded, bool(query.get("as_of")))

    return _remembered(active, (_QUERY, query_string), headers, compute)


def decide_body(active: Active, raw: bytes, headers: Mapping[str, str]) -> Answer:
    """Answer POST /v1/decision from its raw JSON body and headers, or raise an ApiProblem.

    The caller has checked Content-Type, Content-Encoding and the size limit.
    """
    def compute() -> tuple[Answer, DecisionArgs, bool]:
        data = parse_json_object(raw)
        with _also_checking_jurisdiction(active, data.get("jurisdiction"), "body"):
            loaded = load_body(BODY_SCHEMA, data)
        return (_answer(active, loaded, headers.get("Sec-GPC"), headers.get("Accept-Language"),
                        "body"), loaded, data.get("as_of") is not None)

    return _remembered(active, (_BODY, raw), headers, compute)


def _remembered(active: Active, raw: tuple, headers: Mapping[str, str],
                compute: Callable[[], tuple[Answer, DecisionArgs, bool]]) -> Answer:
    """Return the remembered answer for this raw input, or compute and remember it."""
    answers = active.answers
    if not answers.starts <= _now() < answers.ends:
        answers.start_day(_now())
    key = (*raw, headers.get("Sec-GPC"), headers.get("Accept-Language"))
    found = answers.get(key)
    if found is None:
        day = answers.day
        found, loaded, explicit_as_of = compute()
        _remember(answers, key, found, day, loaded, explicit_as_of)
    return found


def _remember(answers: AnswerMemo, key: tuple, answer: Answer, day: int, args: DecisionArgs,
              explicit_as_of: bool) -> None:
    # Without an explicit as_of the answer is for today_utc(), which must be the memo's
    # day (it can differ if the request straddled midnight).
    size = len(key[1]) + len(key[2] or "") + len(key[3] or "")
    if size <= MAX_MEMO_INPUT and (explicit_as_of or args.as_of.toordinal() - _EPOCH_ORDINAL == day):
        answers.remember(key, answer, day)


@bp.get("/decision")
def get_decision() -> Response:
    """Decide from query parameters."""
    active: Active = reloader().active  # once: this request uses this rule set throughout
    return _respond(decide_query(active, request.query_string, request.headers, _request_args))


@bp.post("/decision")
def post_decision() -> Response:
    """Decide from a JSON object body."""
    if request.args:
        # A parameter in the URL of a POST would be silently ignored; say so instead.
        raise validation_problem([FieldError(key, "query", "not read on POST; put it in the JSON body")
                                  for key in request.args])
    raw = read_json_body()
    active: Active = reloader().active
    return _respond(decide_body(active, raw, request.headers))


def _request_args() -> MultiDict:
    return request.args


def _respond(answer: Answer) -> Response:
    annotate(ruleset=answer.version, jurisdiction=answer.jurisdiction, locale=answer.locale)
    max_age = current_app.config["RIGHTSGATE_DECISION_MAX_AGE"]
    # private: the answer depends on the person's age, which must not sit in shared caches.
    return send_cached(answer, cache_control=f"private, max-age={max_age}", vary=VARY,
                       content_language=answer.locale)


@contextmanager
def _also_checking_jurisdiction(active: Active, raw: Any, location: str) -> Iterator[None]:
    """When other fields are invalid, report a malformed jurisdiction in the same answer."""
    try:
        yield
    except ApiProblem as problem:
        named = {e.field for e in problem.errors}
        if problem.slug == "validation" and isinstance(raw, str) and "jurisdiction" not in named:
            try:
                active.snapshot.resolve(raw)
            except InvalidJurisdiction as error:
                problem.errors.insert(0, FieldError("jurisdiction", location, str(error)))
                raise validation_problem(problem.errors) from None
        raise


def read_json_body() -> bytes:
    """Return the raw body of a JSON request, or raise a 413/415 problem."""
    # The request object once, not through the context-local proxy at every use.
    req: Request = request._get_current_object()  # type: ignore[attr-defined]
    if req.mimetype not in JSON_TYPES:
        raise ApiProblem("unsupported-media-type",
                         "Send the body as Content-Type: application/json.",
                         [FieldError("Content-Type", "header", "must be application/json")],
                         {"Accept-Post": "application/json"})
    if req.headers.get("Content-Encoding", "identity").strip().lower() not in ("identity", ""):
        raise ApiProblem("unsupported-media-type", "Send the body without a content coding (no gzip).",
                         [FieldError("Content-Encoding", "header", "must be identity")],
                         {"Accept-Encoding": "identity"})
    charset = req.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise ApiProblem("unsupported-media-type", "JSON bodies must be UTF-8.",
                         [FieldError("Content-Type", "header", "charset must be utf-8")],
                         {"Accept-Post": "application/json"})
    return read_body()


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """Return the body as a JSON object, or raise a 400 problem."""
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
        data = json.loads(text, parse_constant=_no_constants, object_pairs_hook=_unique_keys)
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


def read_body() -> bytes:
    """Return the request body, or raise 413 past MAX_CONTENT_LENGTH (chunked or not)."""
    req: Request = request._get_current_object()  # type: ignore[attr-defined]
    limit = req.max_content_length
    if req.content_length is not None or limit is None:
        return req.get_data(cache=False)  # werkzeug refuses a long Content-Length up front
    if not req.environ.get("wsgi.input_terminated"):
        return b""  # no length and no de-chunking server: nothing can be read safely
    # Werkzeug's max-length stream stops quietly at the limit and would hand us a
    # truncated body; read one byte past the limit ourselves to tell "too large".
    stream = req.environ["wsgi.input"]
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


def _json_kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


def _answer(active: Active, args: DecisionArgs, gpc_header: str | None, languages: str | None,
            location: str) -> Answer:
    """Look up, localise and serialise the decision for validated `args` (cached)."""
    snapshot = active.snapshot
    gpc = args.gpc or (gpc_header or "").strip() == "1"
    try:
        resolution = snapshot.resolve(args.jurisdiction)
    except InvalidJurisdiction as error:
        raise validation_problem([FieldError("jurisdiction", location, str(error))]) from None
    tag = served_locale(active.localiser, active.languages, args.locale, languages)
    try:
        class_key = snapshot.class_key(resolution.code, args.age, gpc, args.as_of, args.context)
    except DateNotModelled as error:
        raise validation_problem([FieldError("as_of", location, str(error))]) from None
    key = ("decision", class_key, resolution.requested, resolution.matched, tag,
           args.as_of.isoformat(), gpc, args.context)
    entry = active.cache.get(key)
    if entry is None:
        decision = snapshot.decide(resolution.code, args.age, gpc, args.as_of, args.context)
        body = render_decision(snapshot, active.localiser, decision, resolution, tag, args.as_of, gpc,
                               args.context)
        entry = CachedBody(encode(RESPONSE_SCHEMA.dump(body)),
                           make_etag(snapshot.version, active.locales_digest, key))
        active.cache.put(key, entry)
    return Answer(entry.body, entry.etag, tag, resolution.code, snapshot.version)
