"""The request path's one owner: a `Serving` answers every request of one rule set.

A Serving holds what answering needs and nothing else changes it: the Snapshot (the
precomputed decisions), the Localiser (the words), and every cache of the request
path, each keyed here and nowhere else:

- `answers` (AnswerMemo): raw request input -> finished Answer. A request whose raw
  input (query string or body bytes, Sec-GPC, Accept-Language, and the trusted edge's
  geolocation headers when its answer may depend on them) was answered before
  skips parsing entirely. Answers without an `as_of` are today's, so it holds one
  UTC day. Only successful answers are kept, and only for inputs up to
  MAX_MEMO_INPUT bytes.
- `bodies` (ResponseCache, LRU): normalised request -> Answer (body, ETag, headers).
- `templates`: (input class, locale) -> the rendered, dumped and encoded decision
  with holes for the three request-specific values (`requested`, `matched`,
  `as_of`), so a new birthdate or date in a known class costs a join, not a render.
- `receipts`: (item kind, effect, place, locale, consent ages) -> the item's version
  (engine.receipts), so a template render hashes each shared item once.
- `languages`: (the caller's language preferences) -> served locale tag.
- `places` / `edge_places`: a jurisdiction as sent / the edge's (country, region) ->
  its Resolution.

`decide_query` / `decide_body` / `reference` take raw input and return an `Answer`:
ready bytes and headers (ETag, Cache-Control, Vary, Content-Language). A decision asked
without age or birthdate is the same for everyone who sends the same request, so it is
`public` (shared caches and CDNs may keep it, with stale-while-revalidate); one with an
age stays `private`. One located by the edge's headers (api.geo) varies on them too.
A request naming an earlier rule set (`version=`) is answered by that set's own Serving,
which `replays` (api.replay) provides; the answer is remembered here like any other.
`conditional`
turns an Answer into status, headers and body for a request's If-None-Match; the
Flask views and the WSGI front (api.front) both use it, so they cannot differ.
bench/inprocess.py times these same methods.

A Serving never changes what it answers. When files change, the reloader builds the
next one with `successor(...)`: a new rule set gets new caches; new translations
get new caches and a new language memo; an edit that changes no answer keeps them.
`prerender(previous)` then renders, in the reloader's thread, the input classes and
locales the previous Serving was asked for, so the first request for them after a
reload is as cheap as before it.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from time import time as _now
from typing import Any

from werkzeug.datastructures import MultiDict
from werkzeug.http import parse_etags, quote_etag

from engine import DateNotModelled, InvalidJurisdiction, Resolution, Snapshot
from engine.localise import Localiser
from engine.render import (
    render_catalog,
    render_decision,
    render_jurisdictions,
    render_locales,
    render_ui_strings,
)

from .archive import NotArchived
from .arguments import (
    EPOCH_ORDINAL,
    DecisionArgs,
    DecisionBodySchema,
    DecisionQuerySchema,
    fast_body,
    fast_query,
    load_body,
    load_query,
    parse_json_object,
    parse_query,
)
from .errors import ApiProblem, FieldError, validation_problem
from .etag import JSON_MIMETYPE, CachedBody, make_etag
from .geo import MATCHED as EDGE_MATCHED
from .geo import GeoHeaders, Unlocated, edge_jurisdiction
from .negotiation import language_preferences
from .responses import CatalogSchema, DecisionSchema, JurisdictionsSchema, LocalesSchema, UiStringsSchema
from .security import SECURITY_HEADERS

DECISION_VARY = "Accept-Language, Sec-GPC"
REFERENCE_VARY = "Accept-Language"
# Inputs bigger than this are answered but not remembered (a real request is ~100 bytes;
# this bounds what the memo can hold whatever clients send).
MAX_MEMO_INPUT = 1024
MAX_LANGUAGE_MEMO = 4096
# Item versions remembered per Serving (one per effect, place, language and consent age).
MAX_RECEIPTS = 16384
# The memo keys' first member: which kind of raw input the rest is.
QUERY, BODY = 0, 1
# The trusted edge's raw (country, region) header values, when an answer may depend on them.
Edge = tuple[str | None, str | None] | None

QUERY_SCHEMA = DecisionQuerySchema()
BODY_SCHEMA = DecisionBodySchema()
RESPONSE_SCHEMA = DecisionSchema()
REFERENCE_SCHEMAS = {"jurisdictions": JurisdictionsSchema(), "catalog": CatalogSchema(),
                     "locales": LocalesSchema(), "ui_strings": UiStringsSchema()}
REFERENCE_RENDERERS = {"jurisdictions": render_jurisdictions, "catalog": render_catalog,
                       "locales": render_locales, "ui_strings": render_ui_strings}
_EXPLICIT_AS_OF = re.compile(rb"(?:^|&)as_of=[^&]")
# A query naming a jurisdiction this plainly is answered for it, whatever the edge says
# (a value starting with a letter or digit is never blank; repeated, it is a 422).
_NAMED_JURISDICTION = re.compile(rb"(?:^|&)jurisdiction=[A-Za-z0-9]")


def encode(data: Any) -> bytes:
    """Encode a dumped response as compact UTF-8 JSON."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


@dataclass(frozen=True, slots=True)
class Answer(CachedBody):
    """A ready response: body, ETag, its headers, and what the request log records."""

    headers: tuple[tuple[str, str], ...]  # ETag, Cache-Control, Vary, Content-Language
    locale: str  # the served locale
    jurisdiction: str | None  # the resolved code (decisions only)
    version: str  # the ruleset version
    # Every header of its 200, security headers included, in the order the Flask path
    # sends them: built once per Answer, sent as is by the WSGI front (api.front).
    complete_headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ServingSettings:
    """What a Serving needs from the app's settings."""

    cache_size: int = 8192
    decision_max_age: int = 300
    meta_max_age: int = 300
    decision_stale_while_revalidate: int = 60  # for the decisions shared caches may keep
    geo: GeoHeaders | None = None  # the trusted edge's geolocation headers (None: trust none)


@dataclass(frozen=True)
class RuleFiles:
    """Which files a rule set was built from: relative names and SHA-256 digests."""

    digest: str  # one hash over every name and content (what "same files" means)
    files: tuple[tuple[str, str], ...] = ()
    origin: str = "files"  # files | state (the last activated set, kept on disk)


# -- caches -------------------------------------------------------------------------


class ResponseCache:
    """A thread-safe LRU of Answers, bounded to `maxsize` entries."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[Hashable, Answer] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Answer | None:
        """Return the cached answer for `key`, or None."""
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key: Hashable, entry: Answer) -> None:
        """Keep `entry`, evicting the least recently used beyond `maxsize`."""
        if self.maxsize <= 0:
            return
        with self._lock:
            self._items[key] = entry
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class AnswerMemo(dict):
    """Finished answers keyed by the raw request input, at most `maxsize` of them.

    A plain dict, so a hit is a single C-level `get`; emptied when full, which is
    cheaper than an LRU on the hit path and refills in one request per key. Safe
    under the GIL: a concurrent `clear` costs at most a miss. `starts <= time.time()
    < ends` says it still holds that UTC day; `start_day` empties it for another.
    """

    # Without slots, a dict subclass keeps its attributes in an old-style instance dict
    # that the interpreter cannot specialise: reading `starts`/`ends` and counting a hit
    # cost ~120 ns of a ~700 ns hit.
    __slots__ = ("day", "ends", "hits", "maxsize", "misses", "starts")

    def __init__(self, maxsize: int) -> None:
        super().__init__()
        self.maxsize = maxsize
        self.day = -1  # days since 1970-01-01 (UTC) of the answers held
        self.starts = self.ends = 0.0  # that day, in time.time() seconds
        self.hits = 0
        self.misses = 0

    def start_day(self, now: float) -> None:
        """Empty the memo for the UTC day of `now` (seconds since the epoch)."""
        day = int(now // 86400)
        if day != self.day:
            self.clear()
            self.day = day
            self.starts, self.ends = day * 86400.0, (day + 1) * 86400.0

    def remember(self, key: Hashable, value: object, day: int) -> None:
        """Keep `value` under `key` if the memo still holds `day`; empty it first when full."""
        if self.maxsize <= 0 or day != self.day:
            return
        if len(self) >= self.maxsize:
            self.clear()
        self[key] = value


class _Hole:
    """A stand-in for a request-specific value while a decision template is rendered."""

    def __init__(self, name: str) -> None:
        self.text = f"\ue000rightsgate:{name}\ue000"  # private-use characters: never in real data
        self.encoded = json.dumps(self.text, ensure_ascii=False).encode()

    def isoformat(self) -> str:  # render_decision writes `as_of.isoformat()`
        return self.text


_REQUESTED, _MATCHED, _AS_OF = _Hole("requested"), _Hole("matched"), _Hole("as_of")


@dataclass(frozen=True, slots=True)
class Template:
    """An encoded decision body cut at its request-specific values."""

    parts: tuple[bytes, ...]
    holes: tuple[int, ...]  # which value goes after each part but the last (0, 1, 2)

    @classmethod
    def cut(cls, body: bytes) -> Template:
        """Cut `body` (rendered with the holes) into parts; each hole must occur once."""
        found = sorted((body.index(hole.encoded), i) for i, hole in enumerate((_REQUESTED, _MATCHED, _AS_OF)))
        parts, start = [], 0
        for position, i in found:
            parts.append(body[start:position])
            start = position + len((_REQUESTED, _MATCHED, _AS_OF)[i].encoded)
        parts.append(body[start:])
        if any(h.encoded in p for p in parts for h in (_REQUESTED, _MATCHED, _AS_OF)):
            raise ValueError("a hole occurs more than once")
        return cls(tuple(parts), tuple(i for _, i in found))

    def fill(self, requested: str | None, matched: str, as_of: str) -> bytes:
        """The body for these values."""
        values = (json.dumps(requested, ensure_ascii=False).encode(), json.dumps(matched).encode(),
                  b'"' + as_of.encode() + b'"')
        out = [self.parts[0]]
        for hole, part in zip(self.holes, self.parts[1:], strict=True):
            out.append(values[hole])
            out.append(part)
        return b"".join(out)


@dataclass
class _Counters:
    """Request-path counters for `stats()`; incremented without a lock (approximate under threads)."""

    fast_path: int = 0
    schema_path: int = 0
    templates_rendered: int = 0
    templates_reused: int = 0
    prerendered: int = 0


# -- the owner ----------------------------------------------------------------------


class Serving:
    """Answer requests from one rule set and one set of translations; immutable in what it answers."""

    def __init__(self, snapshot: Snapshot, localiser: Localiser, *, locales_digest: str,
                 rules: RuleFiles, locales_content: str,
                 settings: ServingSettings | None = None) -> None:
        self.snapshot = snapshot
        self.localiser = localiser
        self.locales_digest = locales_digest  # part of every ETag: new translations make new ETags
        self.rules = rules
        self.locales_content = locales_content
        self.settings = settings or ServingSettings()
        size = self.settings.cache_size
        self.answers = AnswerMemo(size)
        self.bodies = ResponseCache(size)
        self.templates: dict[tuple, Template] = {}
        # Item versions (engine.receipts) already computed for this snapshot and localiser.
        self.receipts: dict[tuple, str] = {}
        self.languages: dict[tuple[str | None, str | None], str] = {}
        self.places: dict[str | None, Resolution | InvalidJurisdiction] = {}
        self.edge_places: dict[tuple[str | None, str | None], Resolution] = {}
        # `version=` on a decision: the Serving of that earlier rule set (api.replay), or
        # a NotArchived error; None: this Serving answers only as itself.
        self.replays: Callable[[str, Serving], Serving] | None = None
        self.counters = _Counters()
        max_age, swr = self.settings.decision_max_age, self.settings.decision_stale_while_revalidate
        # With an age (or birthdate) the answer is about one person: only their browser keeps it.
        self._private_cc = f"private, max-age={max_age}"
        self._public_cc = f"public, max-age={max_age}" + (f", stale-while-revalidate={swr}" if swr else "")
        geo = self.settings.geo
        self._edge_vary = f"{DECISION_VARY}, {geo.vary}" if geo is not None else DECISION_VARY
        self._reference_cc = f"public, max-age={self.settings.meta_max_age}"

    @property
    def version(self) -> str:
        """The ruleset version every answer of this Serving carries."""
        return self.snapshot.version

    def preload_locales(self) -> None:
        """Read the CLDR data every shipped locale needs (Babel loads it lazily, per locale).

        create_app calls this before gunicorn forks, so the first request for a
        language in a new worker costs what a repeat does; the data is cached by Babel
        for the whole process, so a reloaded Localiser finds it too.
        """
        localiser = self.localiser
        for tag, shipped in localiser.locales.items():
            shipped.locale.plural_form(1)  # loads the locale's data (and its parents')
            localiser.duration(tag, "P1M")  # units and numbers
            localiser.join(tag, ["a", "b"])  # list patterns
            localiser.territory(tag, "DE", "Germany")
            localiser.language_name(tag, tag)

    # -- succession ----------------------------------------------------------------

    def successor(self, snapshot: Snapshot | None = None, localiser: Localiser | None = None, *,
                  locales_digest: str | None = None, rules: RuleFiles | None = None,
                  locales_content: str | None = None) -> Serving:
        """The Serving for a new rule set and/or new translations (None: keep this one's).

        An edit that changes no answer (same version, same translations) keeps the
        snapshot and every cache; new translations drop the language memo too.
        """
        new_words = localiser is not None and localiser is not self.localiser
        same = (snapshot is None or snapshot.version == self.snapshot.version) and not new_words
        nxt = Serving(self.snapshot if same or snapshot is None else snapshot,
                      localiser if new_words else self.localiser,
                      locales_digest=locales_digest if new_words and locales_digest else self.locales_digest,
                      rules=rules or self.rules,
                      locales_content=locales_content if new_words and locales_content
                      else self.locales_content,
                      settings=self.settings)
        nxt.replays = self.replays
        if same:
            nxt.answers, nxt.bodies, nxt.templates = self.answers, self.bodies, self.templates
            nxt.receipts = self.receipts
            nxt.counters = self.counters
        if not new_words:
            nxt.languages = self.languages
        if nxt.snapshot is self.snapshot:
            nxt.places, nxt.edge_places = self.places, self.edge_places
        return nxt

    def prerender(self, previous: Serving, stop: threading.Event | None = None,
                  superseded: Callable[[], bool] | None = None) -> int:
        """Render the templates `previous` had (its working set) for this rule set; return how many.

        Classes are matched by their key (jurisdiction, age band, GPC, date interval);
        one that no longer exists is skipped. Runs in the reloader's thread after the
        switch, newest templates first, yielding between renders so request threads keep
        their turn; it stops early when `stop` is set or `superseded()` says the files
        changed again (this set is about to be replaced). A request that needs a
        template not rendered yet simply renders it itself.
        """
        if previous is self or previous.templates is self.templates:
            return 0
        done = 0
        for count, (class_key, tag) in enumerate(reversed(list(previous.templates))):
            if (stop is not None and stop.is_set()) or (
                    superseded is not None and count % 16 == 15 and superseded()):
                break
            code = class_key[0]
            if code not in self.snapshot.tables or tag not in self.localiser.locales:
                continue
            if (class_key, tag) not in self.templates:
                self._decision_template(class_key, tag)
                done += 1
                time.sleep(0)  # let request threads have the GIL between renders
        self.counters.prerendered += done
        return done

    # -- decisions -----------------------------------------------------------------

    def edge_input(self, kind: int, raw: bytes, environ: Mapping[str, Any]) -> Edge:
        """The trusted edge's (country, region) headers of a request whose answer may depend
        on them; None when no edge is trusted or the query plainly names a jurisdiction."""
        geo = self.settings.geo
        if geo is None or (kind == QUERY and _NAMED_JURISDICTION.search(raw) is not None):
            return None
        return geo.read(environ)

    def remembered(self, key: tuple[int, bytes, str | None, str | None, Edge]) -> Answer | None:
        """The remembered answer for a raw input, or None (also the WSGI front's question).

        `key` is (QUERY or BODY, the raw query string or body, Sec-GPC, Accept-Language,
        what `edge_input` says about the request): one tuple, built once by the caller
        (unpacking arguments into it again was a third of a hit's cost)."""
        answers = self.answers
        if not answers.starts <= _now() < answers.ends:
            return None
        found = answers.get(key)
        if found is not None:
            answers.hits += 1
        return found

    def decide_query(self, query_string: bytes, gpc_header: str | None, accept_language: str | None,
                     parsed: Callable[[], MultiDict] | None = None, edge: Edge = None) -> Answer:
        """Answer GET /v1/decision from its raw query string and headers, or raise an ApiProblem.

        `parsed` returns the query as werkzeug parsed it (the view passes `request.args`
        lazily); by default it is parsed here, when the fast path cannot answer. `edge` is
        what `edge_input` says about the request.
        """
        key = (QUERY, query_string, gpc_header, accept_language, edge)
        found = self.remembered(key)
        if found is not None:
            return found
        day = self._new_input()
        args = fast_query(query_string)
        if args is not None:
            self.counters.fast_path += 1
            explicit = _EXPLICIT_AS_OF.search(query_string) is not None
        else:
            self.counters.schema_path += 1
            query = parsed() if parsed is not None else parse_query(query_string)
            with self._also_checking_jurisdiction(query.get("jurisdiction"), "query"):
                args = load_query(QUERY_SCHEMA, query)
            explicit = bool(query.get("as_of"))
        answer = self._decision(args, gpc_header, accept_language, "query", edge)
        self._remember(key, answer, day, args, explicit)
        return answer

    def decide_body(self, raw: bytes, gpc_header: str | None, accept_language: str | None,
                    edge: Edge = None) -> Answer:
        """Answer POST /v1/decision from its raw JSON body and headers, or raise an ApiProblem.

        The caller has checked Content-Type, Content-Encoding and the size limit. `edge` is
        what `edge_input` says about the request.
        """
        key = (BODY, raw, gpc_header, accept_language, edge)
        found = self.remembered(key)
        if found is not None:
            return found
        day = self._new_input()
        data = parse_json_object(raw)
        args = fast_body(data)
        if args is not None:
            self.counters.fast_path += 1
        else:
            self.counters.schema_path += 1
            with self._also_checking_jurisdiction(data.get("jurisdiction"), "body"):
                args = load_body(BODY_SCHEMA, data)
        answer = self._decision(args, gpc_header, accept_language, "body", edge)
        self._remember(key, answer, day, args, data.get("as_of") is not None)
        return answer

    def _new_input(self) -> int:
        """Count a memo miss; return the UTC day the memo holds (starting a new one if needed)."""
        answers = self.answers
        now = _now()
        if not answers.starts <= now < answers.ends:
            answers.start_day(now)
        answers.misses += 1
        return answers.day

    def _remember(self, key: tuple, answer: Answer, day: int, args: DecisionArgs,
                  explicit_as_of: bool) -> None:
        # Without an explicit as_of the answer is for today_utc(), which must be the memo's
        # day (it can differ if the request straddled midnight).
        size = len(key[1]) + len(key[2] or "") + len(key[3] or "")
        edge = key[4]
        if edge is not None:  # not sum() over a generator, which cost ~350 ns a new input
            size += len(edge[0] or "") + len(edge[1] or "")
        if size <= MAX_MEMO_INPUT and (explicit_as_of or args.as_of.toordinal() - EPOCH_ORDINAL == day):
            self.answers.remember(key, answer, day)

    @contextmanager
    def _also_checking_jurisdiction(self, raw: Any, location: str) -> Iterator[None]:
        """When other fields are invalid, report a malformed jurisdiction in the same answer."""
        try:
            yield
        except ApiProblem as problem:
            named = {e.field for e in problem.errors}
            if problem.slug == "validation" and isinstance(raw, str) and "jurisdiction" not in named:
                try:
                    self.snapshot.resolve(raw)
                except InvalidJurisdiction as error:
                    errors = [FieldError("jurisdiction", location, str(error)), *problem.errors]
                    raise validation_problem(errors, problem.more) from None
            raise

    def _decision(self, args: DecisionArgs, gpc_header: str | None, accept_language: str | None,
                  location: str, edge: Edge = None) -> Answer:
        """Look up, localise and serialise the decision for validated `args` (cached)."""
        snapshot = self.snapshot
        # One unpacking, not a descriptor call per field read (a never-seen input pays each).
        jurisdiction, age, gpc, locale, day, context, version = args
        if version is not None and version != snapshot.version:
            # A replay: the earlier rule set answers, as it did (its own caches and ETags).
            return self._past(version, location)._decision(
                args._replace(version=None), gpc_header, accept_language, location, edge)
        gpc = gpc or (gpc_header or "").strip() == "1"
        geo = self.settings.geo
        vary = DECISION_VARY
        if geo is not None and (jurisdiction is None or not jurisdiction.strip()):
            resolution = self._edge_resolution(geo, edge or (None, None), location)
            vary = self._edge_vary
        else:
            resolution = self.places.get(jurisdiction)
            if resolution is None:
                resolution = self._resolve(jurisdiction)
            if type(resolution) is not Resolution:
                raise validation_problem([FieldError("jurisdiction", location, str(resolution))])
        tag = self.served_locale(locale, accept_language)
        try:
            class_key = snapshot.class_key(resolution.code, age, gpc, day, context)
        except DateNotModelled as error:
            raise validation_problem([FieldError("as_of", location, str(error))]) from None
        as_of = day.isoformat()
        # The class key's age band tells "no age" (shared: public) from an age (private),
        # and `matched` an edge-located answer (its own Vary) from one that named its place.
        key = ("decision", class_key, resolution.requested, resolution.matched, tag, as_of, gpc)
        answer = self.bodies.get(key)
        if answer is None:
            template = self._decision_template(class_key, tag)
            body = template.fill(resolution.requested, resolution.matched, as_of)
            cache_control = self._public_cc if age is None else self._private_cc
            answer = self._answer(body, key, cache_control, vary, tag, resolution.code)
            self.bodies.put(key, answer)
        return answer

    def _past(self, version: str, location: str) -> Serving:
        """The Serving of the earlier rule set `version`, or a 422 problem naming `version`."""
        try:
            if self.replays is None:
                raise NotArchived(version, "is not the current rule set, and this service keeps no others")
            return self.replays(version, self)
        except NotArchived as missing:
            raise validation_problem([FieldError("version", location, missing.why)]) from None

    def _edge_resolution(self, geo: GeoHeaders, edge: tuple[str | None, str | None],
                         location: str) -> Resolution:
        """Where the trusted edge's headers place the request, or a 422 problem (api.geo)."""
        found = self.edge_places.get(edge)
        if found is None:
            try:
                place = self.snapshot.resolve(edge_jurisdiction(geo, edge[0], edge[1]))
            except Unlocated as unlocated:
                errors = [FieldError("jurisdiction", location, f"missing, and {unlocated.why}; "
                                                               "send jurisdiction")]
                if unlocated.header is not None:
                    errors.append(FieldError(unlocated.header, "header", unlocated.problem or "invalid"))
                raise validation_problem(errors) from None
            except InvalidJurisdiction:  # a well-formed code always resolves; kept for safety
                raise validation_problem([FieldError("jurisdiction", location, "missing, and the edge's "
                                                     "headers name no place; send jurisdiction")]) from None
            found = Resolution(requested=None, code=place.code, matched=EDGE_MATCHED)
            if len(self.edge_places) >= MAX_LANGUAGE_MEMO:
                self.edge_places.clear()
            self.edge_places[edge] = found
        return found

    def _resolve(self, raw: str | None) -> Resolution | InvalidJurisdiction:
        # Callers send few distinct spellings of a place; remember them, within a bound.
        try:
            found: Resolution | InvalidJurisdiction = self.snapshot.resolve(raw)
        except InvalidJurisdiction as error:
            found = error
        if len(self.places) >= MAX_LANGUAGE_MEMO:
            self.places.clear()
        self.places[raw] = found
        return found

    def _decision_template(self, class_key: tuple, tag: str) -> Template:
        """The template of input class `class_key` in locale `tag`, rendered on first use."""
        template = self.templates.get((class_key, tag))
        if template is not None:
            self.counters.templates_reused += 1
            return template
        snapshot = self.snapshot
        code, _band, gpc, _interval, context = class_key
        decision = snapshot.decision_of(class_key)
        holed = Resolution(requested=_REQUESTED.text, code=code, matched=_MATCHED.text)  # type: ignore[arg-type]
        if len(self.receipts) >= MAX_RECEIPTS:
            self.receipts.clear()
        body = encode(RESPONSE_SCHEMA.dump(render_decision(snapshot, self.localiser, decision, holed, tag,
                                                           _AS_OF, gpc, context,  # type: ignore[arg-type]
                                                           receipts=self.receipts)))
        template = Template.cut(body)
        if len(self.templates) >= self.settings.cache_size:
            self.templates.clear()  # bounded like the memo; refills one render per class
        self.templates[(class_key, tag)] = template
        self.counters.templates_rendered += 1
        return template

    # -- reference bodies ------------------------------------------------------------

    def reference(self, kind: str, locale: str | None, accept_language: str | None) -> Answer:
        """Answer /v1/jurisdictions, /v1/catalog, /v1/locales or /v1/ui-strings in the negotiated locale."""
        tag = self.served_locale(locale, accept_language)
        key = (kind, tag)
        answer = self.bodies.get(key)
        if answer is None:
            data = REFERENCE_RENDERERS[kind](self.snapshot, self.localiser, tag)
            body = encode(REFERENCE_SCHEMAS[kind].dump(data))
            # The same for everyone who asks in this language: shared caches may keep it.
            answer = self._answer(body, key, self._reference_cc, REFERENCE_VARY, tag, None)
            self.bodies.put(key, answer)
        return answer

    # -- shared steps ------------------------------------------------------------------

    def served_locale(self, explicit: str | None, accept_language: str | None) -> str:
        """Return the shipped locale tag to answer in."""
        memo = self.languages
        key = (explicit, accept_language)
        tag = memo.get(key)
        if tag is None:
            # Parsing and negotiation cost more than the cached response they pick, and
            # browsers send few distinct headers: remember answers, within a bound.
            tag = self.localiser.negotiate(list(language_preferences(explicit, accept_language)))
            if len(accept_language or "") <= MAX_MEMO_INPUT:  # an odd huge header is not kept
                if len(memo) >= MAX_LANGUAGE_MEMO:
                    memo.clear()
                memo[key] = tag
        return tag

    def _answer(self, body: bytes, key: Hashable, cache_control: str, vary: str, tag: str,
                jurisdiction: str | None) -> Answer:
        etag = make_etag(self.snapshot.version, self.locales_digest, key)
        headers = (("ETag", quote_etag(etag)), ("Cache-Control", cache_control), ("Vary", vary),
                   ("Content-Language", tag))
        complete = (*headers, ("Content-Type", JSON_MIMETYPE), ("Content-Length", str(len(body))),
                    *SECURITY_HEADERS.items())
        return Answer(body, etag, headers, tag, jurisdiction, self.snapshot.version, complete)

    # -- observation ---------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counters of this Serving's request path, for a metrics endpoint.

        Returns a flat dict of numbers and strings:

        - `version`: the ruleset version served; `rules_origin`: `files` or `state`.
        - `memo_hits`, `memo_misses`, `memo_entries`: the raw-input answer memo.
        - `body_hits`, `body_misses`, `body_entries`: the normalised-request body cache.
        - `templates`, `templates_rendered`, `templates_reused`, `prerendered`: decision
          templates (one render per input class and locale).
        - `languages`: remembered (locale, Accept-Language) answers; `places`: remembered
          jurisdiction spellings.
        - `fast_path`, `schema_path`: decisions validated by the fast path / by marshmallow.

        Counters start at 0 for each rule set (they share a Serving's caches, which a
        successor keeps only when no answer changed) and are not exact under
        concurrent threads (no lock on the request path); they only ever grow.
        """
        c = self.counters
        return {
            "version": self.snapshot.version, "rules_origin": self.rules.origin,
            "memo_hits": self.answers.hits, "memo_misses": self.answers.misses,
            "memo_entries": len(self.answers),
            "body_hits": self.bodies.hits, "body_misses": self.bodies.misses,
            "body_entries": len(self.bodies),
            "templates": len(self.templates), "templates_rendered": c.templates_rendered,
            "templates_reused": c.templates_reused, "prerendered": c.prerendered,
            "languages": len(self.languages), "places": len(self.places),
            "fast_path": c.fast_path, "schema_path": c.schema_path,
        }


# -- answering an HTTP request ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ready:
    """Status, headers and body of a response, before the security headers are added."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def conditional(answer: Answer, if_none_match: str | None, method: str) -> Ready:
    """The response to `method` with `if_none_match` for `answer`: 200, or 304 (RFC 9110 §13.1.2).

    Raises the 412 problem for a matching POST. Used by the Flask views and the WSGI
    front alike.
    """
    if if_none_match and parse_etags(if_none_match).contains_weak(answer.etag):
        if method not in ("GET", "HEAD"):
            raise ApiProblem("precondition-failed",
                             "If-None-Match matched the current representation; a POST is not "
                             "answered conditionally. Send it without If-None-Match.")
        # RFC 9110 §15.4.5: the validators and caching headers, not the representation's
        # metadata (werkzeug drops Content-Language from a 304 too).
        return Ready(304, [h for h in answer.headers if h[0] != "Content-Language"])
    return Ready(200, [*answer.headers, ("Content-Type", JSON_MIMETYPE)], answer.body)


__all__ = ["Answer", "AnswerMemo", "Ready", "ResponseCache", "RuleFiles", "Serving", "ServingSettings",
           "Template", "conditional", "encode"]
