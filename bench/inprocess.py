"""In-process decision cost: the request path without WSGI and Flask.

Every method below gets the same prepared requests from bench/mix.py, i.e. what the
views hand to the Serving (api.serving): the raw query string (`request.query_string`)
or the raw POST body, and the two headers that matter (Accept-Language, Sec-GPC) in a
plain dict. Each returns the response body bytes. The methods call the very Serving
object the views call (`Serving.decide_query` / `decide_body`); only its caches differ.

- floor: `table[(raw query or body, Sec-GPC, Accept-Language)]`: the already
  serialised responses in a dict keyed by the raw request; the cheapest conceivable
  service (build a key from what the request carries, look it up). The ≤ 3× target
  is against this.
- dict[key]: the same lookup with the key already built (for reference: no service
  gets its key for free).
- warm: `Serving.decide_query` / `decide_body`, in the steady state: this raw input
  was answered before (the Serving's answer memo).
- warm, new input: the same Serving with the answer memo off: the fast path (or, for
  an unusual request, werkzeug + the marshmallow schemas), jurisdiction, locale
  (memoised), input class, then the body cache or the class's template. This is any
  input not seen before whose class was rendered (a fresh birthdate, a new
  Accept-Language string): the issue's "never-seen raw input", target <= 20 µs.
- cold: memo, body cache and templates off: the above + Snapshot lookup + render
  (localise) + response schema dump + JSON encode + ETag: the first request for an
  input class after a reload when prerendering did not cover it (target <= 200 µs).
- naive: the design the Snapshot replaces. The same rules compiled once into a
  durable_rules ruleset (engine.compiler's variants, conditions and facts); per
  request the same parsing and schemas, then a fact asserted and its state deleted,
  the fired rules resolved (engine.resolve), rendered, dumped and encoded; no caches.

Timing: `time.perf_counter_ns`; methods interleaved round by round (A/B/A/B) so
drift and noise hit all of them alike. Two views of the same work: per-op means of
whole batches (median over rounds; little timer overhead, used for the ratios) and
individually timed calls (p50/p99 per op; each includes one timer call, shown as
"empty call").
"""

from __future__ import annotations

import gc
import itertools
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from api.arguments import load_body, load_query, parse_json_object, parse_query
from api.config import DEFAULT_BUNDLE_DIR
from api.reload import RulesReloader
from api.serving import (
    BODY_SCHEMA,
    QUERY_SCHEMA,
    RESPONSE_SCHEMA,
    AnswerMemo,
    ResponseCache,
    RuleFiles,
    Serving,
    ServingSettings,
    encode,
)
from engine import Snapshot, compiler, durable_core
from engine.classes import InputClass
from engine.decision import Decision
from engine.errors import ProblemList
from engine.localise import DEFAULT_LOCALES_DIR, Localiser
from engine.render import render_decision
from engine.resolve import Fired, resolve_class

from .mix import Request

Prepared = tuple[bytes, dict[str, str]]  # (raw query string or body, headers)


# -- the naive per-request durable_rules design -----------------------------------------


class NaiveDurable:
    """Evaluate every request through durable_rules, as a design without a Snapshot would."""

    _names = itertools.count()

    def __init__(self, serving: Serving) -> None:
        self.serving = serving
        snapshot = serving.snapshot
        ruleset = snapshot.ruleset
        rules = [*compiler.policy_rules(ruleset), *ruleset.rules]
        self.variants = [v for rule in rules for v in compiler.variants_of(rule, ruleset)]
        # One durable rule per variant, every rule in one ruleset, driven the way the
        # compiler drives durable_rules (engine.durable_core: the cheapest way to ask it).
        with durable_core.LOCK:
            self.core = durable_core.CoreRuleset(
                f"bench_naive_{next(self._names)}",
                {f"v{i}": compiler.durable_condition(v) for i, v in enumerate(self.variants)},
                compiler.CLASS_FACT)
        self._sids = itertools.count()
        # The class axes only describe the decision (its age range and validity); the
        # rules themselves see the request's real age and date.
        self.axes = {code: table.axes for code, table in snapshot.tables.items()}

    def decide(self, code: str, age: int | None, gpc: bool, as_of: Any,
               context: str = "consumer") -> Decision:
        """Assert this request as a fact, collect the rules that fired, resolve them."""
        ruleset = self.serving.snapshot.ruleset
        jurisdiction = ruleset.jurisdictions[code]
        axes = self.axes[code]
        cls = InputClass(code, axes.band_of(age), age, bool(gpc), axes.interval_of(as_of), as_of, context)
        sid = f"r{next(self._sids)}"
        with durable_core.LOCK:  # durable_rules is not thread-safe: a real design needs this
            names = self.core.fired(compiler.fact_for(jurisdiction, cls, sid, ruleset.frameworks))
        fired = sorted({int(name[1:]) for name in names})
        hits = [Fired(self.variants[i].rule, self.variants[i].age, self.variants[i].effects,
                      self.variants[i].name) for i in fired]
        problems = ProblemList()
        decision = resolve_class(ruleset, jurisdiction, axes, cls, hits, problems)
        problems.raise_if_any()
        return decision

    def _answer(self, args: Any, headers: dict[str, str]) -> bytes:
        serving = self.serving
        snapshot = serving.snapshot
        gpc = args.gpc or (headers.get("Sec-GPC") or "").strip() == "1"
        resolution = snapshot.resolve(args.jurisdiction)
        tag = serving.served_locale(args.locale, headers.get("Accept-Language"))
        decision = self.decide(resolution.code, args.age, gpc, args.as_of, args.context)
        body = render_decision(snapshot, serving.localiser, decision, resolution, tag, args.as_of, gpc,
                               args.context)
        return encode(RESPONSE_SCHEMA.dump(body))

    def answer_query(self, query: bytes, headers: dict[str, str]) -> bytes:
        """GET: the same parsing and schemas as the service, then per-request evaluation."""
        return self._answer(load_query(QUERY_SCHEMA, parse_query(query)), headers)

    def answer_body(self, raw: bytes, headers: dict[str, str]) -> bytes:
        """POST: the same parsing and schemas as the service, then per-request evaluation."""
        return self._answer(load_body(BODY_SCHEMA, parse_json_object(raw)), headers)

    def close(self) -> None:
        """Free the C-side ruleset."""
        self.core.delete()


# -- measurement --------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) of `values`, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _batch(fn: Callable[[Any, Any], Any], items: Sequence[tuple[Any, Any]]) -> float:
    clock = time.perf_counter_ns
    start = clock()
    for a, h in items:
        fn(a, h)
    return (clock() - start) / len(items)


def _each(fn: Callable[[Any, Any], Any], items: Sequence[tuple[Any, Any]], out: list[int]) -> None:
    clock = time.perf_counter_ns
    for a, h in items:
        start = clock()
        fn(a, h)
        out.append(clock() - start)


@dataclass
class MethodResult:
    """What one method cost in one phase: per-op batch means (one per round) and single calls."""

    name: str
    batch_ns: list[float] = field(default_factory=list)
    samples_ns: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        """Median of batch means; p50/p99 of single calls."""
        nan = float("nan")
        return {
            "batch_median_ns": statistics.median(self.batch_ns) if self.batch_ns else nan,
            "p50_ns": percentile(self.samples_ns, 0.50) if self.samples_ns else nan,
            "p99_ns": percentile(self.samples_ns, 0.99) if self.samples_ns else nan,
            "rounds": len(self.batch_ns),
            "calls_timed": len(self.samples_ns),
        }


Method = tuple[str, Callable[[Any, Any], Any], list]


def _phase(methods: list[Method], *, rounds: int, sample_rounds: int,
           chunk: int | None = None) -> dict[str, MethodResult]:
    """Run `methods` interleaved, rotating their order every round (A/B/C, B/C/A, ...).

    With `chunk`, each round times a different slice of `chunk` requests (for slow
    methods); every method gets the same slice in the same round.
    """
    results = {name: MethodResult(name) for name, _, _ in methods}
    size = len(methods[0][2])
    step = chunk or size
    gc.collect()
    for r in range(rounds):
        order = methods[r % len(methods):] + methods[:r % len(methods)]
        start = (r * step) % size
        for name, fn, items in order:
            its = items if chunk is None else (items * 2)[start:start + chunk]
            results[name].batch_ns.append(_batch(fn, its))
    for r in range(sample_rounds):
        order = methods[r % len(methods):] + methods[:r % len(methods)]
        for start in range(0, size, step):
            for name, fn, items in order:
                _each(fn, items[start:start + step], results[name].samples_ns)
    return results


def make_serving(rules_dir: Path | str, locales_dir: Path | str = DEFAULT_LOCALES_DIR,
                 cache_size: int = ServingSettings.cache_size) -> Serving:
    """The Serving a worker answers with (built as create_app builds it, without Flask)."""
    state = Path(__file__).resolve().parent / ".work" / "state"
    reloader = RulesReloader(Path(rules_dir), Path(locales_dir), 0, state, ServingSettings(cache_size),
                             bundle_dir=DEFAULT_BUNDLE_DIR)  # as create_app: a worker loads the bundle
    reloader.serving.preload_locales()
    return reloader.serving


def serving_for(snapshot: Snapshot, cache_size: int = ServingSettings.cache_size) -> Serving:
    """A Serving around an already built Snapshot (as the reloader would build it)."""
    serving = Serving(snapshot, Localiser(DEFAULT_LOCALES_DIR), locales_digest="bench",
                      rules=RuleFiles("bench"), locales_content="", settings=ServingSettings(cache_size))
    serving.preload_locales()
    return serving


def variant(serving: Serving, *, memo: bool = True, bodies: bool = True, templates: bool = True) -> Serving:
    """The same rule set and words with some caches off (what a request without them costs)."""
    size = serving.settings.cache_size
    out = Serving(serving.snapshot, serving.localiser, locales_digest=serving.locales_digest,
                  rules=serving.rules, locales_content=serving.locales_content,
                  settings=ServingSettings(size if templates else 0))
    out.languages = serving.languages
    out.answers = serving.answers if memo else AnswerMemo(0)
    out.bodies = serving.bodies if bodies else ResponseCache(0)
    if templates:
        out.templates = serving.templates
    return out


def prepare(mix: Sequence[Request], method: str) -> list[Prepared]:
    """The mix as the views hand it to decide_query (GET) or decide_body (POST)."""
    if method == "GET":
        return [(r.query_string(), r.header_dict()) for r in mix]
    return [(r.body(), r.header_dict()) for r in mix]


def measure(serving: Serving, mix: Sequence[Request], *, method: str, rounds: int, sample_rounds: int,
            slow_rounds: int, slow_batch: int, naive: NaiveDurable | None = None,
            verify: bool = True) -> dict[str, Any]:
    """Time every method on `mix` sent as `method` (GET or POST); return summaries and ratios."""
    items = prepare(mix, method)
    no_memo = variant(serving, memo=False)
    cold_serving = variant(serving, memo=False, bodies=False, templates=False)

    def decider(which: Serving) -> Callable[[bytes, dict[str, str]], Any]:
        fn = which.decide_query if method == "GET" else which.decide_body

        def decide(a: bytes, h: dict[str, str]) -> Any:
            return fn(a, h.get("Sec-GPC"), h.get("Accept-Language"))
        return decide

    decide, decide_new, decide_cold = decider(serving), decider(no_memo), decider(cold_serving)
    # The warm path calls the Serving's method directly (as the view does), no wrapper between.
    warm_fn = serving.decide_query if method == "GET" else serving.decide_body

    # One pass warms the memo and the response cache and fills the floor's table.
    table = {(a, h.get("Sec-GPC"), h.get("Accept-Language")): decide(a, h).body for a, h in items}
    if len(table) != len(items):
        raise RuntimeError("the mix holds duplicate requests; the floor table would be smaller")
    keys = [((a, h.get("Sec-GPC"), h.get("Accept-Language")), None) for a, h in items]

    def floor(a: bytes, h: dict[str, str]) -> bytes:
        return table[(a, h.get("Sec-GPC"), h.get("Accept-Language"))]

    def bare(k: tuple, _h: None) -> bytes:
        return table[k]

    def warm(a: bytes, h: dict[str, str]) -> bytes:
        return warm_fn(a, h.get("Sec-GPC"), h.get("Accept-Language")).body

    def warm_new(a: bytes, h: dict[str, str]) -> bytes:
        return decide_new(a, h).body

    def cold(a: bytes, h: dict[str, str]) -> bytes:
        return decide_cold(a, h).body

    def empty(_a: bytes, _h: dict[str, str]) -> None:
        return None

    naive_fn = None
    if naive is not None:
        naive_fn = naive.answer_query if method == "GET" else naive.answer_body

    checked = 0
    if verify:
        for a, h in items:
            expected = floor(a, h)
            got = {"warm": warm(a, h), "warm, new input": warm_new(a, h), "cold": cold(a, h)}
            if naive_fn is not None:
                got["naive"] = naive_fn(a, h)
            for name, body in got.items():
                if body != expected:
                    raise RuntimeError(f"{method} {name} answered differently from the cached answer "
                                       f"for {a!r} {h!r}")
            checked += 1

    # Phase 1, the lookup: the floor against the warm path, nothing heavy in between.
    lookup = _phase([("empty call", empty, items), ("dict[key]", bare, keys), ("floor", floor, items),
                     ("warm", warm, items)], rounds=rounds, sample_rounds=sample_rounds)
    # Phase 2, the work: everything that parses, renders or evaluates, interleaved with
    # the floor and the warm path again, which now run right after heavy work (colder
    # CPU caches, as in a server where the framework runs between two lookups).
    heavy: list[Method] = [("floor", floor, items), ("warm", warm, items),
                           ("warm, new input", warm_new, items), ("cold", cold, items)]
    if naive_fn is not None:
        heavy.append(("naive durable_rules", naive_fn, items))
    work = _phase(heavy, rounds=slow_rounds, sample_rounds=1, chunk=slow_batch)

    one = {name: res.summary() for name, res in lookup.items()}
    two = {name: res.summary() for name, res in work.items()}
    empty_ns = one["empty call"]["batch_median_ns"]
    for phase in (one, two):
        floor_ns = phase["floor"]["batch_median_ns"]
        for s in phase.values():
            s["x_floor"] = s["batch_median_ns"] / floor_ns
            s["x_floor_net"] = max(s["batch_median_ns"] - empty_ns, 0) / max(floor_ns - empty_ns, 1e-9)
    ratios = {
        "warm_x_floor": one["warm"]["x_floor"],
        "warm_x_floor_p50": one["warm"]["p50_ns"] / one["floor"]["p50_ns"],
        "warm_x_floor_after_work": two["warm"]["x_floor"],
        "warm_new_x_floor": two["warm, new input"]["x_floor"],
        "cold_x_floor": two["cold"]["x_floor"],
    }
    if naive_fn is not None:
        naive_ns = two["naive durable_rules"]["batch_median_ns"]
        ratios["naive_over_warm"] = naive_ns / two["warm"]["batch_median_ns"]
        ratios["naive_over_warm_new"] = naive_ns / two["warm, new input"]["batch_median_ns"]
        ratios["naive_over_cold"] = naive_ns / two["cold"]["batch_median_ns"]
    sizes = sorted(map(len, table.values()))
    return {"method": method, "requests": len(items), "verified": checked, "lookup": one, "work": two,
            "ratios": ratios, "memo_entries": len(serving.answers), "cache_entries": len(serving.bodies),
            "stats": serving.stats(),
            "body_bytes": {"min": sizes[0], "median": sizes[len(sizes) // 2], "max": sizes[-1]}}


# Smoke: the fewest rounds that still run every loop of _phase (two rounds, so the order
# rotates) and every method on every request once; nothing is read from its numbers.
PARAMS = {
    "smoke": {"rounds": 2, "sample_rounds": 1, "slow_rounds": 2, "slow_batch": 5},
    "full": {"rounds": 400, "sample_rounds": 40, "slow_rounds": 60, "slow_batch": 20},
}


def run(rules_dir: Path | str, mix: Sequence[Request], *, smoke: bool,
        with_naive: bool = True) -> dict[str, Any]:
    """Measure GET and POST on `mix` against the rules in `rules_dir`."""
    serving = make_serving(rules_dir)
    naive = NaiveDurable(serving) if with_naive else None
    params = PARAMS["smoke" if smoke else "full"]
    try:
        out: dict[str, Any] = {"params": params}
        for method in ("GET", "POST"):
            out[method] = measure(serving, mix, method=method, naive=naive, **params)
        out["after_reload"] = after_reload(serving, mix, runs=1 if smoke else 6)
        out["first_language"] = first_language(rules_dir, smoke=smoke)
        return out
    finally:
        if naive is not None:
            naive.close()


# -- first request for a language in a new worker -----------------------------------------

FIRST_LANGUAGE_TAGS = ("de", "fr", "pl", "fi", "el", "hu", "pt", "ga")


def _first_language_child(rules_dir: str, preload: bool) -> dict[str, Any]:
    """In a fresh process: the first decision in each language vs a second (another class)."""
    state = Path(__file__).resolve().parent / ".work" / "state"
    reloader = RulesReloader(Path(rules_dir), DEFAULT_LOCALES_DIR, 0, state, bundle_dir=DEFAULT_BUNDLE_DIR)
    serving = reloader.serving
    if preload:
        serving.preload_locales()  # what create_app does before gunicorn forks
    clock = time.perf_counter_ns
    out = {}
    for tag in FIRST_LANGUAGE_TAGS:
        start = clock()
        serving.decide_query(f"jurisdiction=DE&age=15&locale={tag}".encode(), None, None)
        first = clock() - start
        start = clock()
        serving.decide_query(f"jurisdiction=FR&age=40&locale={tag}".encode(), None, None)
        repeat = clock() - start
        out[tag] = {"first_ns": first, "repeat_ns": repeat}
    return out


def first_language(rules_dir: Path | str, *, smoke: bool) -> dict[str, Any]:
    """First request for a language in a new worker vs a repeat (a second class, same language).

    Each run is a fresh interpreter (a new worker); with and without the CLDR preload
    that create_app does, alternating. Target: first <= 2x a repeat.
    """
    import json
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    runs = 1 if smoke else 4
    out: dict[str, Any] = {"runs": runs}
    for preload in [True, False] * runs:
        code = ("import json, sys; from bench.inprocess import _first_language_child; "
                f"print(json.dumps(_first_language_child({str(rules_dir)!r}, {preload})))")
        done = subprocess.run([sys.executable, "-W", "ignore", "-c", code], cwd=root, capture_output=True,
                              text=True, check=True)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        key = "preloaded" if preload else "lazy"
        for tag, value in result.items():
            out.setdefault(key, {}).setdefault(tag, []).append(value["first_ns"] / value["repeat_ns"])
    for key in ("preloaded", "lazy"):
        ratios = [statistics.median(v) for v in out[key].values()]
        out[f"{key}_median_ratio"] = statistics.median(ratios)
        out[f"{key}_max_ratio"] = max(ratios)
    return out


# -- the first requests after a reload ------------------------------------------------------


def after_reload(serving: Serving, mix: Sequence[Request], *, runs: int) -> dict[str, Any]:
    """First request per input class right after a reload: with the prerender, and without.

    A new Serving for the same rule set (empty caches: what a reload with another version
    starts from) is built; `prerender(previous)` renders the classes and languages the old one
    was asked for, as the reloader does right after the switch; then each GET of the mix is
    sent once (memo and body cache empty: each request's first time). Without the prerender
    every class renders on its first request. Per-request means; runs alternate.
    """
    items = prepare(mix, "GET")
    for a, h in items:  # the old Serving has served the mix
        serving.decide_query(a, h.get("Sec-GPC"), h.get("Accept-Language"))
    clock = time.perf_counter_ns
    out: dict[str, list[float]] = {"prerendered_ns": [], "not_prerendered_ns": [], "prerender_s": []}
    for _ in range(runs):
        for warm in (True, False):
            fresh = Serving(serving.snapshot, serving.localiser, locales_digest=serving.locales_digest,
                            rules=serving.rules, locales_content=serving.locales_content,
                            settings=serving.settings)
            fresh.languages = serving.languages  # a rules-only reload keeps the language memo
            if warm:
                start = clock()
                fresh.prerender(serving)
                out["prerender_s"].append((clock() - start) / 1e9)
            gc.collect()
            start = clock()
            for a, h in items:
                fresh.decide_query(a, h.get("Sec-GPC"), h.get("Accept-Language"))
            key = "prerendered_ns" if warm else "not_prerendered_ns"
            out[key].append((clock() - start) / len(items))
    return {"runs": runs, "templates": len(serving.templates),
            **{k: statistics.median(v) for k, v in out.items()}}
