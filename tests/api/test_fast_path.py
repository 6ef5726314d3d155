"""The hand-written fast path never disagrees with the marshmallow schemas (the contract).

`fast_query` / `fast_body` answer only requests they are sure of and return None for
anything else, which the schemas then decide. So for every input: either the fast
path says None, or the schemas accept the same input with exactly the same values.
And the whole decision path (fast path, else schemas) gives the same answer or the
same problem (status, detail, every error) as the schemas alone.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.arguments import (
    _DECODER,
    DecisionBodySchema,
    DecisionQuerySchema,
    fast_body,
    fast_query,
    load_body,
    load_query,
    parse_query,
)
from api.arguments import _decode as decode_body_text
from api.errors import ApiProblem

QUERY_SCHEMA = DecisionQuerySchema()
BODY_SCHEMA = DecisionBodySchema()
FIELDS = ("jurisdiction", "age", "birthdate", "gpc", "locale", "as_of", "context", "version")

# Values near every rule's edge, plus arbitrary text.
TEXT_VALUES = st.one_of(
    st.sampled_from(["", "DE", "de", "US-CA", "ca_qc", "UK", "EEA", "U-K", "x" * 64, "x" * 65, "0", "13",
                     "-0", "007", "130", "131", "-1", "13.0", "+13", "1e3", "true", "false", "TRUE", "1",
                     "maybe", "2010-05-17", "2010-02-30", "2010-5-17", "2999-01-01", "1800-01-01",
                     "1890-06-01", "2026-01-01", "fr", "fr-CA", "fr_CA", "zz-ZZZZZZZZZ", "f", "de-CH-1996",
                     "toolongsubtag-x", "a\tb", "DE\n", "consumer", "school", "e08317d5dcba098a",
                     "E08317D5DCBA098A", "e08317d5dcba098", "e08317d5dcba098a\n", "e08317d5dcba098az",
                     # Not printable, yet nothing CONTROL_RE refuses (the fast path's
                     # isprintable() shortcut must not decline them), and that range's ends.
                     "D\x85E", "DE\xa0", "D\u2028E", "\x7f", "\x00", "\x1f"]),
    st.text(max_size=12),
    st.text(alphabet="0123456789-", max_size=10),
)
JSON_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-5, max_value=200),
    st.sampled_from([2**70, 13.0, 1.5, [], {}, [13], 0, 130, 131, -1]),
    TEXT_VALUES,
)
NAMES = st.one_of(st.sampled_from(FIELDS), st.sampled_from(["colour", "Age", "as-of", ""]),
                  st.text(max_size=6))


def schema_query(query_string: bytes) -> tuple[str, Any]:
    try:
        return "ok", load_query(QUERY_SCHEMA, parse_query(query_string))
    except ApiProblem as problem:
        return "problem", (problem.slug, problem.detail, problem.errors, problem.more)


def schema_body(data: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "ok", load_body(BODY_SCHEMA, data)
    except ApiProblem as problem:
        return "problem", (problem.slug, problem.detail, problem.errors, problem.more)


def either_query(query_string: bytes) -> tuple[str, Any]:
    fast = fast_query(query_string)
    return ("ok", fast) if fast is not None else schema_query(query_string)


def either_body(data: dict[str, Any]) -> tuple[str, Any]:
    fast = fast_body(data)
    return ("ok", fast) if fast is not None else schema_body(data)


@st.composite
def query_strings(draw: st.DrawFn) -> bytes:
    pairs = draw(st.lists(st.tuples(NAMES, TEXT_VALUES), max_size=7))
    style = draw(st.sampled_from(["raw", "quoted", "no-equals"]))
    parts = []
    for name, value in pairs:
        if style == "quoted":
            parts.append(f"{quote(name)}={quote(value)}")
        elif style == "no-equals" and not value:
            parts.append(name)
        else:
            parts.append(f"{name}={value}")
    text = "&".join(parts)
    if draw(st.booleans()):
        text += draw(st.sampled_from(["", "&", "&&", "+", "%20"]))
    return text.encode("utf-8")


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query_strings())
def test_fast_query_agrees_with_the_schema(query_string):
    fast = fast_query(query_string)
    expected = schema_query(query_string)
    if fast is not None:
        assert expected == ("ok", fast), query_string
    assert either_query(query_string) == expected


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(NAMES, JSON_VALUES, max_size=7))
def test_fast_body_agrees_with_the_schema(data):
    # What parse_json_object hands over is what json.loads makes of the bytes.
    data = json.loads(json.dumps(data))
    fast = fast_body(data)
    expected = schema_body(data)
    if fast is not None:
        assert expected == ("ok", fast), data
    assert either_body(data) == expected


def _outcome(decode: Any, text: str) -> tuple[str, Any]:
    try:
        return "ok", decode(text)
    except (ValueError, StopIteration, RecursionError) as error:
        return "error", (type(error), str(error))


JSON_DOCUMENTS = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=10)


@st.composite
def body_texts(draw: st.DrawFn) -> str:
    """Bodies as clients write them, and broken ones: spacing, junk around, cuts, repeated keys."""
    if draw(st.booleans()):
        return draw(st.text(alphabet='{}[]":,. -+0123456789eEtrufalsnNIy\\\t\n', max_size=30))
    text = json.dumps(draw(JSON_DOCUMENTS), indent=draw(st.sampled_from([None, 0, 2])),
                      separators=draw(st.sampled_from([None, (",", ":"), (", ", ": ")])))
    if draw(st.booleans()):
        text = text.replace("{", '{"age": 1, "age": 2,' if draw(st.booleans()) else '{"a": NaN, ', 1)
    cut = draw(st.integers(0, len(text)))
    edit = draw(st.sampled_from(["none", "cut", "before", "after"]))
    junk = draw(st.sampled_from(["", " ", "\n", "x", "{}", "]"]))
    return {"none": text, "cut": text[:cut], "before": junk + text, "after": text + junk}[edit] or "{"


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body_texts())
def test_the_body_decoder_shortcut_agrees_with_json(text):
    """parse_json_object's direct scan returns and raises exactly what decode() does."""
    assert _outcome(decode_body_text, text) == _outcome(_DECODER.decode, text)


def test_the_fast_path_takes_the_common_shapes():
    """It is only useful if it answers what clients really send."""
    for query in (b"jurisdiction=DE&age=15", b"jurisdiction=US-CA&gpc=1&locale=fr-CA",
                  b"jurisdiction=PT&age=14&version=e08317d5dcba098a",
                  b"jurisdiction=AT&birthdate=2013-05-01&as_of=2026-01-01", b"", b"age=&jurisdiction=FR"):
        assert fast_query(query) is not None, query
    for body in ({"jurisdiction": "DE", "age": 15}, {"jurisdiction": "AT", "birthdate": "2013-05-01"},
                 {"jurisdiction": "US-CA", "gpc": True, "locale": "fr-CA", "as_of": None}):
        assert fast_body(body) is not None, body


def test_the_serving_uses_the_fast_path_and_agrees_with_the_schemas(app):
    """Through the Serving: a fast-path answer is byte-identical to a schema-path one."""
    serving = app.extensions["rightsgate"].serving
    before = serving.stats()
    fast = serving.decide_query(b"jurisdiction=AT&age=13&as_of=2026-01-01", None, "de")
    # The same request spelled so the fast path declines (percent-encoded '-'): the schemas answer.
    slow = serving.decide_query(b"jurisdiction=AT&age=13&as_of=2026%2D01%2D01", None, "de")
    after = serving.stats()
    assert after["fast_path"] == before["fast_path"] + 1
    assert after["schema_path"] == before["schema_path"] + 1
    assert fast.body == slow.body
    assert fast.etag == slow.etag
