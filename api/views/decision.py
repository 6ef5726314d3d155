"""GET and POST /v1/decision: what applies to this person, here and now."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from engine import InvalidJurisdiction
from engine.render import render_decision

from ..arguments import DecisionArgs, DecisionBodySchema, DecisionQuerySchema, load_body, load_query
from ..errors import ApiProblem, FieldError, validation_problem
from ..etag import CachedBody, make_etag, send_cached
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


@bp.get("/decision")
def get_decision() -> Response:
    """Decide from query parameters."""
    with _also_checking_jurisdiction(request.args.get("jurisdiction"), "query"):
        args = load_query(QUERY_SCHEMA, request.args)
    return _answer(args)


@bp.post("/decision")
def post_decision() -> Response:
    """Decide from a JSON object body."""
    if request.args:
        # A parameter in the URL of a POST would be silently ignored; say so instead.
        raise validation_problem([FieldError(key, "query", "not read on POST; put it in the JSON body")
                                  for key in request.args])
    data = read_json_object()
    with _also_checking_jurisdiction(data.get("jurisdiction"), "body"):
        args = load_body(BODY_SCHEMA, data)
    return _answer(args)


@contextmanager
def _also_checking_jurisdiction(raw: Any, location: str) -> Iterator[None]:
    """When other fields are invalid, report a malformed jurisdiction in the same answer."""
    try:
        yield
    except ApiProblem as problem:
        named = {e.field for e in problem.errors}
        if problem.slug == "validation" and isinstance(raw, str) and "jurisdiction" not in named:
            try:
                reloader().active.snapshot.resolve(raw)
            except InvalidJurisdiction as error:
                problem.errors.insert(0, FieldError("jurisdiction", location, str(error)))
                raise validation_problem(problem.errors) from None
        raise


def read_json_object() -> dict[str, Any]:
    """Return the body as a JSON object, or raise a 400/413/415 problem."""
    if request.mimetype not in JSON_TYPES:
        raise ApiProblem("unsupported-media-type",
                         "Send the body as Content-Type: application/json.",
                         [FieldError("Content-Type", "header", "must be application/json")],
                         {"Accept-Post": "application/json"})
    if request.headers.get("Content-Encoding", "identity").strip().lower() not in ("identity", ""):
        raise ApiProblem("unsupported-media-type", "Send the body without a content coding (no gzip).",
                         [FieldError("Content-Encoding", "header", "must be identity")],
                         {"Accept-Encoding": "identity"})
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise ApiProblem("unsupported-media-type", "JSON bodies must be UTF-8.",
                         [FieldError("Content-Type", "header", "charset must be utf-8")],
                         {"Accept-Post": "application/json"})
    raw = read_body()
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
    limit = request.max_content_length
    if request.content_length is not None or limit is None:
        return request.get_data(cache=False)  # werkzeug refuses a long Content-Length up front
    if not request.environ.get("wsgi.input_terminated"):
        return b""  # no length and no de-chunking server: nothing can be read safely
    # Werkzeug's max-length stream stops quietly at the limit and would hand us a
    # truncated body; read one byte past the limit ourselves to tell "too large".
    stream = request.environ["wsgi.input"]
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


def _answer(args: DecisionArgs) -> Response:
    active: Active = reloader().active  # once: this request uses this rule set throughout
    snapshot = active.snapshot
    gpc = args.gpc or request.headers.get("Sec-GPC", "").strip() == "1"
    try:
        resolution = snapshot.resolve(args.jurisdiction)
    except InvalidJurisdiction as error:
        raise validation_problem(
            [FieldError("jurisdiction", "query" if request.method != "POST" else "body", str(error))]
        ) from None
    tag = served_locale(active.localiser, active.languages, args.locale)
    class_key = snapshot.class_key(resolution.code, args.age, gpc, args.as_of)
    key = ("decision", class_key, resolution.requested, resolution.matched, tag,
           args.as_of.isoformat(), gpc)
    annotate(ruleset=snapshot.version, jurisdiction=resolution.code, locale=tag)
    entry = active.cache.get(key)
    if entry is None:
        decision = snapshot.decide(resolution.code, args.age, gpc, args.as_of)
        body = render_decision(snapshot, active.localiser, decision, resolution, tag, args.as_of, gpc)
        entry = CachedBody(encode(RESPONSE_SCHEMA.dump(body)),
                           make_etag(snapshot.version, active.locales_digest, key))
        active.cache.put(key, entry)
    max_age = current_app.config["RIGHTSGATE_DECISION_MAX_AGE"]
    # private: the answer depends on the person's age, which must not sit in shared caches.
    return send_cached(entry, cache_control=f"private, max-age={max_age}", vary=VARY,
                       content_language=tag)
