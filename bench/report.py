"""Turn the results of bench/run.py into bench/results.md and a short console summary."""
# ruff: noqa: E501  (Markdown rows and sentences read better unbroken)

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

NOTES = Path(__file__).resolve().parent / "notes.md"


def ns(value: float) -> str:
    """A duration given in nanoseconds, in a readable unit."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if value < 1_000:
        return f"{value:.0f} ns"
    if value < 1_000_000:
        return f"{value / 1000:.1f} µs"
    return f"{value / 1e6:.2f} ms"


def x(value: float | None, digits: int = 2) -> str:
    """A ratio."""
    return "n/a" if value is None or math.isnan(value) else f"{value:.{digits}f}×"


def _status(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**met**" if ok else "**missed**")


# -- targets ---------------------------------------------------------------------------------


def targets(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(target, measured, baseline, status) for every target of the issue that this run measured."""
    out = []
    ip = r.get("inprocess")
    if ip:
        for method in ("GET", "POST"):
            ratio = ip[method]["ratios"]["warm_x_floor"]
            out.append((f"1. in-process warm path ≤ 3× the floor ({method})", x(ratio),
                        "dict lookup of the serialised bytes by the raw request", _status(ratio <= 3)))
        for method in ("GET", "POST"):
            new_ns = ip[method]["work"]["warm, new input"]["batch_median_ns"]
            out.append((f"1. a never-seen raw input ≤ 20 µs ({method})", ns(new_ns),
                        "fast path + templates; the memo misses", _status(new_ns <= 20_000)))
        if "after_reload" in ip:
            ar = ip["after_reload"]
            out.append(("1. first request for an input class after a reload ≤ 200 µs (or prerendered)",
                        f"{ns(ar['prerendered_ns'])} prerendered ({ar['prerender_s']:.2f} s in the reload "
                        f"thread); {ns(ar['not_prerendered_ns'])} not", "classes the old set served",
                        _status(ar["prerendered_ns"] <= 200_000)))
        if "first_language" in ip:
            fl = ip["first_language"]
            out.append(("1. first request for a language in a new worker ≤ 2× a repeat",
                        f"{x(fl['preloaded_median_ratio'])} median, {x(fl['preloaded_max_ratio'])} worst "
                        f"(lazy CLDR: {x(fl['lazy_median_ratio'])}, {x(fl['lazy_max_ratio'])})",
                        "a second class in the same language", _status(fl["preloaded_median_ratio"] <= 2)))
        for method in ("GET", "POST"):
            ratios = ip[method]["ratios"]
            out.append((f"1. ≥ 50× faster than naive per-request durable_rules ({method})",
                        f"{x(ratios['naive_over_warm'], 0)} (new input: {x(ratios['naive_over_warm_new'], 0)})",
                        "same rules asserted into durable_rules per request", _status(ratios["naive_over_warm"] >= 50)))
    hp = r.get("http")
    if hp:
        for method in ("GET", "POST"):
            ratios = hp["summary"][method]["ratios"]
            if "throughput_x_bare" in ratios:
                out.append((f"2. HTTP throughput ≥ 0.9× a raw WSGI constant, same server ({method})",
                            x(ratios["throughput_x_bare"]) + f"; server CPU per request {x(ratios['cpu_x_bare'])}"
                            + (f" (vs bare Flask answering the constant: {x(ratios['throughput_x_flask'])})"
                               if "throughput_x_flask" in ratios else ""),
                            "constant JSON from a raw WSGI callable, api/server.py (granian), same workers",
                            _status(ratios["throughput_x_bare"] >= 0.9)))
                out.append((f"2. HTTP p99 ≤ 1.5× the raw WSGI constant ({method})", x(ratios["p99_x_bare"]),
                            "constant JSON from a raw WSGI callable, api/server.py (granian), same workers",
                            _status(ratios["p99_x_bare"] <= 1.5)))
            if "throughput_x_today" in ratios:
                out.append((f"2. HTTP throughput ≥ 3× today's rightsgate ({method})",
                            x(ratios["throughput_x_today"]) + f" (p99 {x(ratios['p99_x_today'])})",
                            "rightsgate under the former gunicorn.conf.py (gthread 2×4)",
                            _status(ratios["throughput_x_today"] >= 3)))
    ld = r.get("load")
    if ld:
        total = ld["current"]["total_s"]
        out.append(("3. load + validate + compile + precompute the shipped rules < 1 s",
                    f"{total:.2f} s (median of {ld['repeats']} fresh processes)", "-", _status(total < 1)))
        if "bundle" in ld:
            bundled = ld["bundle"]["load_s"]
            out.append(("3. a start from the stored bundle (restart, new worker, roll-back) < 1 s",
                        f"{bundled:.2f} s (median of {ld['repeats']} fresh processes)",
                        f"compile + store {ld['bundle']['compile_and_store_s']:.2f} s", _status(bundled < 1)))
    gr = r.get("growth")
    if gr:
        done = [s for s in gr["scales"] if s.get("finished")]
        if len(done) >= 2:
            ratios = [s["per_request"]["ratios"]["warm_x_floor"] for s in done]
            warm = [s["per_request"]["lookup"]["warm"]["batch_median_ns"] for s in done]
            spread = max(warm) / min(warm)
            flat = max(ratios) / min(ratios) <= 1.5 and spread <= 1.5
            out.append(("4. per-request cost flat as the rule set grows",
                        f"warm {', '.join(ns(w) for w in warm)} at {', '.join(str(s['scale']) + '×' for s in done)}"
                        f" (max/min {x(spread)})", "same in-process methods per scale",
                        _status(flat) if all(s.get("finished") for s in gr["scales"]) or not flat
                        else _status(flat) + " (for the scales that finished)"))
    mem = r.get("memory")
    if mem:
        measured = [g for g in mem["growth_warm_to_last"].values() if g is not None]
        starved = len(mem["growth_warm_to_last"]) - len(measured)
        growth = max((g["rss_mib"] for g in measured), default=float("nan"))
        spans = ", ".join(f"{g['from_served']:,} → {g['to_served']:,}" for g in measured)
        out.append(("5. worker RSS does not grow (each worker from its caches full on)",
                    f"max growth {growth:+.1f} MiB per worker (requests served: {spans})"
                    + (f"; {starved} worker(s) never warm" if starved else ""),
                    "RSS when the worker had served its warm-up", _status(growth <= 2.0 and not starved)))
    return out


# -- sections ----------------------------------------------------------------------------------


def _machine(r: dict[str, Any]) -> list[str]:
    m = r["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    return [
        "## Machine and run", "",
        "| | |", "|---|---|",
        f"| CPUs (nproc) | {m['nproc']} |",
        f"| CPU model | {m['cpu']} |",
        f"| memory | {m['memory_gib']} GiB |",
        f"| Python | {m['python']} ({m['implementation']}), {m['platform']} |",
        f"| packages | {versions} |",
        f"| load generator | {m['load_generator']} |",
        f"| date | {m['date']} |",
        f"| git commit | {m['commit']} |",
        f"| command | `{r['command']}` |",
        f"| wall time | {r['wall_s']:.0f} s |",
        f"| load average (1 min) at start / end | {r['loadavg']['start']} / {r['loadavg']['end']} "
        "(the machine is shared: anything above ~2 is other tenants competing for the 2 cores) |",
        "",
    ]


def _inprocess(r: dict[str, Any]) -> list[str]:
    ip = r["inprocess"]
    mix = r["mix"]
    lines = [
        "## 1. In-process decision cost", "",
        "What is timed is the object the views call, `api.serving.Serving.decide_query` (GET) and "
        "`decide_body` (POST), without WSGI and Flask: from the raw query string or body bytes and the "
        "`Accept-Language` / `Sec-GPC` headers to the response bytes. That is normalise (the fast path, "
        "or werkzeug query parsing / JSON decoding and the marshmallow schemas; jurisdiction and locale), "
        "look up (the Snapshot's input class), localise and serialise (the class's template, or render + "
        "response schema + JSON, cached). "
        "See the docstring of `bench/inprocess.py` for each method.", "",
        f"The mix (`bench/mix.py`): {mix['requests']} requests over all {mix['jurisdictions_modelled']} "
        f"modelled jurisdictions ({mix['spellings']} spellings: codes, lower case, aliases, "
        f"unmodelled places), ages on both sides of every threshold ({mix['with_age']} by age, "
        f"{mix['with_birthdate']} by birthdate, {mix['no_age']} without), GPC on in {mix['gpc_on']} "
        f"(field or header), {len(__import__('bench.mix', fromlist=['x']).ACCEPT_LANGUAGES)} "
        f"Accept-Language headers plus a `locale` field in {mix['locale_field']}, an `as_of` in "
        f"{mix['as_of']}.", "",
        f"Rounds: {ip['params']['rounds']} (lookup phase, every request each round), "
        f"{ip['params']['slow_rounds']} × {ip['params']['slow_batch']} requests (work phase); "
        "the methods are interleaved and their order rotates every round.", "",
    ]
    for method in ("GET", "POST"):
        res = ip[method]
        lines += [
            f"### {method} ({res['requests']} requests; bodies {res['body_bytes']['min']}–"
            f"{res['body_bytes']['max']} bytes, median {res['body_bytes']['median']})", "",
            f"Every request of the mix gave byte-identical bodies from the warm, new-input, cold and naive "
            f"paths ({res['verified']}/{res['requests']} checked).", "",
            "| phase | method | per op (median of batch means) | p50 (single calls) | p99 (single calls) | × floor |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for phase, label in (("lookup", "lookup"), ("work", "after heavy work")):
            for name, s in res[phase].items():
                lines.append(f"| {label} | {name} | {ns(s['batch_median_ns'])} | {ns(s['p50_ns'])} | "
                             f"{ns(s['p99_ns'])} | {x(s['x_floor'])} |")
        ratios = res["ratios"]
        lines += [
            "",
            f"- warm path: **{x(ratios['warm_x_floor'])} the floor** (single-call p50: "
            f"{x(ratios['warm_x_floor_p50'])}; right after heavy work, where both are slower: "
            f"{x(ratios['warm_x_floor_after_work'])}).",
            f"- naive per-request durable_rules: **{x(ratios['naive_over_warm'], 0)} slower than the warm "
            f"path**, {x(ratios['naive_over_warm_new'], 0)} slower than a new input (whose cost is mostly "
            f"the marshmallow schemas, which the naive design pays too), {x(ratios['naive_over_cold'], 1)} "
            "slower than a cold miss (render + dump dominate both).",
            f"- new input (memo off: the path before the fix): {ns(res['work']['warm, new input']['batch_median_ns'])}, "
            f"{x(res['work']['warm, new input']['batch_median_ns'] / res['lookup']['floor']['batch_median_ns'], 0)} the "
            f"lookup-phase floor ({x(ratios['warm_new_x_floor'], 0)} the floor measured right after heavy work); "
            f"cold (nothing cached): {ns(res['work']['cold']['batch_median_ns'])}, "
            f"{x(res['work']['cold']['batch_median_ns'] / res['lookup']['floor']['batch_median_ns'], 0)} the lookup-phase floor.",
            "",
        ]
    if "after_reload" in ip:
        ar = ip["after_reload"]
        lines += [
            "### First requests after a reload", "",
            f"Each GET of the mix sent once to a new Serving of the same rule set (empty memo and body "
            f"cache), median of {ar['runs']} runs: **{ns(ar['prerendered_ns'])}** per request after "
            f"`Serving.prerender` rendered the {ar['templates']} class × language templates the old "
            f"Serving had used ({ar['prerender_s']:.2f} s, in the reloader's thread after the switch); "
            f"{ns(ar['not_prerendered_ns'])} without it (each class rendered on its first request).", "",
        ]
    if "first_language" in ip:
        fl = ip["first_language"]
        lines += [
            "### First request for a language in a new worker", "",
            f"A fresh interpreter per run ({fl['runs']} runs each way, alternating): the first decision "
            f"in each of {len(fl['preloaded'])} languages against a second one (another input class, same "
            f"language). With the CLDR preload `create_app` does before forking: "
            f"**{x(fl['preloaded_median_ratio'])}** median, {x(fl['preloaded_max_ratio'])} worst; with "
            f"Babel's lazy loading: {x(fl['lazy_median_ratio'])} median, {x(fl['lazy_max_ratio'])} worst.",
            "",
        ]
    lines += [
        "Single-call p50/p99 include one `perf_counter_ns` pair (the \"empty call\" row); the batch "
        "medians amortise it. Sub-microsecond numbers move by ±30% between runs on this machine; "
        "the ratios, measured interleaved, move much less.", "",
    ]
    return lines


def _http(r: dict[str, Any]) -> list[str]:
    hp = r["http"]
    p = hp["params"]
    lines = [
        "## 2. HTTP (api/server.py: granian, on loopback)", "",
        "Servers: `python -m api.server` as scripts/serve runs it (granian, 2 workers × 64 threads, "
        "rules validated before the workers fork; the rules watcher on, every 2 s, as shipped; the "
        "request log to a file; metrics counted), each bound to a free 127.0.0.1 port. Targets: "
        "`rightsgate` (`wsgi:app`); `constant (bare WSGI)`, a raw WSGI callable (no Flask) answering "
        "every decision request with a real decision body of median size "
        f"({hp['body_bytes']} bytes) and the same headers, served as it is by the same server: "
        "**the baseline of the targets**; `rightsgate, today's config`: the same app under the former "
        "gunicorn.conf.py (gthread, 2 workers × 4 threads); `constant (Flask)`: bare Flask answering "
        "the constant; `constant (rightsgate stack)`: rightsgate's own app (request log, security "
        "headers, negotiation, hooks, `send_cached`) with the decision replaced by the constant."
        + (" `rightsgate, before`: the code of `--compare-root`." if "before" in str(hp["summary"]) else ""),
        "",
        f"Load: {hp['generator']}; `{hp['command']}`, replaying the mix (with wrk: from a Lua script; "
        f"GET: query + headers; POST: JSON body, the signup flow). {p['rounds']} rounds × "
        f"{p['duration']} s per target and method, targets alternating (A/B/C…, then …C/B/A), after "
        f"{p['warmup']} s of warm-up each. Short runs on purpose: the workers race to accept the "
        "keep-alive connections and one worker often gets nearly all of them for a whole run "
        "(\"balance\" = the less busy worker's share of the CPU, 0.5 is even); every run reconnects, so "
        "over many runs each target gets the same luck. req/s is over all runs; p50, p99 and server CPU "
        "per request are medians of the runs.", "",
    ]
    for method in ("GET", "POST"):
        s = hp["summary"][method]
        lines += [f"### {method}", "",
                  "| target | req/s | p50 | p99 | server CPU / request | balance (median) | errors | req/s per run |",
                  "|---|---:|---:|---:|---:|---:|---:|---|"]
        for name, t in s["targets"].items():
            lines.append(f"| {name} | {t['rps']:.0f} | {t['p50_ms']:.2f} ms | {t['p99_ms']:.2f} ms | "
                         f"{t['cpu_us']:.0f} µs | {t['balance_median']:.2f} | {t['errors']} | "
                         f"{', '.join(map(str, t['rps_runs']))} |")
        ratio = s["ratios"]
        parts = []
        for short, label in (("bare", "constant (bare WSGI)"), ("today", "rightsgate, today's config"),
                             ("flask", "constant (Flask)"), ("stack", "constant (rightsgate stack)"),
                             ("before", "rightsgate before")):
            if f"throughput_x_{short}" in ratio:
                parts.append(f"| {label} | {x(ratio[f'throughput_x_{short}'])} | {x(ratio[f'p50_x_{short}'])} | "
                             f"{x(ratio[f'p99_x_{short}'])} | {x(ratio[f'cpu_x_{short}'])} |")
        lines += ["", "rightsgate relative to each baseline:", "",
                  "| baseline | throughput | p50 | p99 | server CPU / request |", "|---|---:|---:|---:|---:|",
                  *parts, ""]
    wsgi = hp.get("wsgi")
    if wsgi:
        lines += [
            "### The same apps called in-process (no server, no sockets)", "",
            "Each app called as a WSGI callable on the mix (request log to a file), interleaved, "
            f"median of {wsgi['rounds']} rounds. Steadier than HTTP on a shared machine; it shows what each "
            "layer costs per request.", "",
            "| app | GET | POST |", "|---|---:|---:|",
        ]
        for name in wsgi["GET"]["us"]:
            lines.append(f"| {name} | {wsgi['GET']['us'][name]:.1f} µs | {wsgi['POST']['us'][name]:.1f} µs |")
        lines += ["", f"rightsgate / constant (Flask): GET {x(wsgi['GET']['rightsgate_x_flask'])}, POST "
                  f"{x(wsgi['POST']['rightsgate_x_flask'])}; rightsgate / its own stack with a constant: GET "
                  f"{x(wsgi['GET']['rightsgate_x_stack'])}, POST {x(wsgi['POST']['rightsgate_x_stack'])}.", ""]
    lines += [f"Load average during this phase: {hp['loadavg'][0]} → {hp['loadavg'][1]}.", ""]
    return lines


def _peers(r: dict[str, Any]) -> list[str]:
    pe = r["peers"]
    p = pe["params"]
    lines = [
        "## 2b. Servers compared (bench/peers.py)", "",
        "Each candidate serves the raw WSGI constant and rightsgate with 2 workers, on loopback; "
        f"GET mix, wrk with {p['connections']} connections, {p['rounds']} rounds × {p['duration']} s, "
        "interleaved over every server and app. Then rightsgate again while "
        f"{3 * p['slow_per_kind']} slow clients hang on (a third trickle a header line a second, a "
        "third a body byte a second, a third connect and send nothing), for "
        f"{2 * p['duration']} s. req/s over all runs, p99 the median of the runs.", "",
        "| server | raw WSGI req/s | raw p99 | rightsgate req/s | rightsgate p99 | "
        "with slow clients: req/s | p99 | max | errors (timeouts) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for label, row in pe["summary"].items():
        raw, app, slow = row.get("constant (bare WSGI)", {}), row.get("rightsgate", {}), row.get("slow clients", {})
        if slow and not slow.get("rps"):
            slow_cells = "**0: stalled** (no answer in the run) | - | - | -"
        else:
            slow_cells = (f"{slow.get('rps', 0):.0f} | {slow.get('p99_ms', 0):.1f} ms | {slow.get('max_ms', 0):.0f} ms"
                          f" | {slow.get('errors', 0)} ({slow.get('timeouts', 0)})")
        lines.append(
            f"| {label} | {raw.get('rps', 0):.0f} | {raw.get('p99_ms', 0):.1f} ms | {app.get('rps', 0):.0f} | "
            f"{app.get('p99_ms', 0):.1f} ms | {slow_cells} |")
    lines += ["", f"Load average during this phase: {pe['loadavg'][0]} → {pe['loadavg'][1]}.", ""]
    return lines


def _load(r: dict[str, Any]) -> list[str]:
    ld = r["load"]
    cur = ld["current"]
    tr = ld["traced"]
    lines = [
        "## 3. Load and reload", "",
        f"The shipped rules ({cur['jurisdictions']} jurisdictions, {cur['rules']} rules, {cur['classes']} input "
        f"classes), each measurement in a fresh process (`python -m bench.load --child rules`), median of "
        f"{ld['repeats']}. Floor: parsing the same {tr['files']} YAML files ({tr['bytes'] / 1024:.0f} KiB) with "
        f"PyYAML's {cur['yaml_loader']}.", "",
        "| step | " + " | ".join(ld["runs"]) + " |", "|---|" + "---:|" * len(ld["runs"]),
    ]
    rows = [("imports (engine, durable_rules, babel, yaml)", "import_s", "s"),
            ("floor: YAML parse only", "yaml_floor_s", "s"),
            ("load + validate (`load_rules`)", "load_validate_s", "s"),
            ("compile + precompute (`build_snapshot`)", "compile_precompute_s", "s"),
            ("**total: load, validate, compile, precompute**", "total_s", "s"),
            ("total ÷ YAML floor", "total_x_yaml", "x"),
            ("reload in a warm process (`load_snapshot`, what the watcher does)", "reload_s", "s"),
            ("translations (`Localiser`, also loaded at start)", "localiser_s", "s"),
            ("peak RSS growth while loading", "peak_rss_increase_mib", "MiB"),
            ("RSS after loading", "rss_after_load_mib", "MiB")]
    for label, key, unit in rows:
        cells = []
        for name in ld["runs"]:
            value = ld[name][key]
            cells.append(x(value, 1) if unit == "x" else f"{value:.3f} s" if unit == "s" else f"{value:.1f} MiB")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    if "bundle" in ld:
        b = ld["bundle"]
        lines += ["", f"From a stored bundle (engine.bundle, what a restart, a new worker or a roll-back pays): "
                  f"**{b['load_s']:.3f} s** (runs {', '.join(f'{v:.3f}' for v in b['load_runs_s'])} s; peak RSS "
                  f"{b['peak_rss_mib']:.0f} MiB), after one compile that stored it in "
                  f"{b['compile_and_store_s']:.2f} s."]
    lines += [
        "", f"Total per run (current): {', '.join(f'{v:.3f}' for v in cur['total_runs_s'])} s.", "",
        f"The Snapshot's size: **{tr['snapshot_heap_mib']:.1f} MiB** of Python heap kept alive (rule model, "
        f"{tr['classes']} decisions, texts; tracemalloc, separate process); peak heap while loading "
        f"{tr['load_heap_peak_mib']:.1f} MiB.", "",
    ]
    return lines


def _growth(r: dict[str, Any]) -> list[str]:
    gr = r["growth"]
    lines = [
        "## 4. Growth", "",
        "Rule sets from `bench/generate.py`: the shipped rules plus fake EEA states (XA..XZ, QM..QZ) and "
        "their subdivisions, each with its own framework file, age of consent (13-16), every fourth with a "
        "dated change of that age and every third with a minors rule below an age of its own (14-21). "
        "They pass the same validation as the shipped rules. Each scale is loaded in a fresh process; "
        "per-request costs use the in-process methods on a same-size sample of that rule set's mix.", "",
        "| scale | places | rules | age-threshold mentions (distinct) | classes | load + validate | "
        "compile + precompute | µs per class | peak RSS | warm (×floor) | new input | cold |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in gr["scales"]:
        if not s.get("finished"):
            lines.append(f"| {s['scale']}× | " + " | ".join(["–"] * 11) + f" |  \n*{s['scale']}×: {s['error']}*")
            continue
        pr = s["per_request"]
        lines.append(
            f"| {s['scale']}× | {s['jurisdictions']} | {s['rules']} | {s['age_threshold_mentions']} "
            f"({s['distinct_age_thresholds']}) | {s['classes']} | {s['load_validate_s']:.2f} s | "
            f"{s['compile_precompute_s']:.2f} s | {s['us_per_class']:.0f} | {s['peak_rss_mib']:.0f} MiB | "
            f"{ns(pr['lookup']['warm']['batch_median_ns'])} ({x(pr['ratios']['warm_x_floor'])}) | "
            f"{ns(pr['work']['warm, new input']['batch_median_ns'])} | "
            f"{ns(pr['work']['cold']['batch_median_ns'])} |")
    done = [s for s in gr["scales"] if s.get("finished")]
    if len(done) >= 2:
        first, last = done[0], done[-1]
        f_classes = last["classes"] / first["classes"]
        f_load = last["total_s"] / first["total_s"]
        f_val = last["load_validate_s"] / first["load_validate_s"]
        f_comp = last["compile_precompute_s"] / first["compile_precompute_s"]
        per_class = last["us_per_class"] / first["us_per_class"]
        lines += [
            "",
            f"From {first['scale']}× to {last['scale']}×: places ×{last['jurisdictions'] / first['jurisdictions']:.0f}, "
            f"classes ×{f_classes:.0f}; load + validate ×{f_val:.0f}, compile + precompute ×{f_comp:.0f}, total "
            f"×{f_load:.0f}; compile + precompute per class {first['us_per_class']:.0f} → "
            f"{last['us_per_class']:.0f} µs (×{per_class:.2f}).", "",
            "How load time grows, and why: compiling and precomputing is one durable_rules evaluation plus "
            "its resolution per input class, and classes grow with places × age bands × GPC × date "
            "intervals, so it grows with the number of classes. "
            + ("It stays close to linear: " if per_class < 1.25 else "Somewhat faster than linear: ")
            + "the cost per class grows with the number of rules in the ruleset a class is matched "
            "against, which is the ruleset of its place's frameworks only (one per set of frameworks, see the "
            "fixes below: with one ruleset for all rules the per-class cost grew with the whole rule set, and "
            "100× did not compile at all); here each synthetic framework carries the rules of all its "
            "country's subdivisions (~10 at 10×, ~100 at 100×). The version hash over every decision adds a "
            "linear term. Loading and validating grows with the size of the YAML (and some fixed cost at 1×). "
            "Memory grows with the decisions kept. (The per-class breakdown is in the fixes below.) Per-request cost does not depend on the size: a request is "
            "a dict lookup for its place, a bisect over that place's few age bands and date intervals, and a "
            "dict lookup for its class (the warm path is a memo hit before even that).", "",
        ]
        if any(s["wall_s"] > 60 for s in done):
            slow = [s for s in done if s["wall_s"] > 60]
            took = ", ".join(f"{s['wall_s']:.0f} s" for s in slow)
            lines += [f"The {', '.join(str(s['scale']) + '×' for s in slow)} run took "
                      f"{took} (more than a minute): loading "
                      f"{slow[-1]['classes']} classes at ~{slow[-1]['us_per_class']:.0f} µs each, plus the "
                      "per-request measurement.", ""]
    return lines


def _memory(r: dict[str, Any]) -> list[str]:
    mem = r["memory"]
    readings = mem["readings"]
    pids = list(readings[0]["workers"])
    params = mem["params"]
    lines = [
        "## 5. Memory per worker", "",
        "api/server.py as shipped; the load generator replays the mix (GET and POST) where every third "
        "request is a signup POST with a birthdate never sent before, so the answer memo and the response "
        "cache keep filling and evicting. The load goes in steps; after each, every worker's VmRSS and Pss "
        "and the requests it has served (counted from its request log lines: granian's workers do not "
        f"share the load evenly). A worker is warm once it has served {params['warm']:,} requests; growth "
        f"is from there until every worker has served {params['more']:,} more.", "",
        "| after requests | " + " | ".join(f"worker {i + 1}: served, RSS / Pss" for i in range(len(pids))) + " |",
        "|---:|" + "---:|" * len(pids),
    ]
    for reading in readings:
        cells = [f"{reading['served'][p]:,}, {reading['workers'][p]['rss_mib']:.1f} / "
                 f"{reading['workers'][p].get('pss_mib', 0):.1f} MiB" for p in pids]
        lines.append(f"| {reading['after_requests']:,} | " + " | ".join(cells) + " |")
    growth = mem["growth_warm_to_last"]
    lines += [
        "",
        "Growth per worker from its warm reading to the last: "
        + ", ".join("never warm" if g is None else
                    f"{g['rss_mib']:+.1f} MiB RSS ({g['from_served']:,} → {g['to_served']:,} requests served)"
                    for g in growth.values())
        + f". The step after start is the caches filling (bounded: {mem.get('cache_size', 0):,} responses, "
        f"templates and remembered answers per worker) and copy-on-write: the rule set is loaded before the fork and shared, and "
        "pages a worker touches (reference counts) become its own.", "",
    ]
    return lines


def markdown(r: dict[str, Any]) -> str:
    """The whole report."""
    lines = ["# rightsgate benchmarks", "",
             "Generated by `bench/run.py` (do not edit: the hand-written part is `bench/notes.md`, "
             "appended at the end). Every cost is a ratio against a baseline measured in the same run, "
             "interleaved with it.", ""]
    if r.get("smoke"):
        lines += ["**Smoke run: tiny counts, numbers not meaningful.**", ""]
    lines += _machine(r)
    lines += ["## Targets", "", "| target | measured | baseline | status |", "|---|---|---|---|"]
    lines += [f"| {t} | {m} | {b} | {s} |" for t, m, b, s in targets(r)]
    lines.append("")
    for name, section in (("inprocess", _inprocess), ("http", _http), ("peers", _peers), ("load", _load),
                          ("growth", _growth),
                          ("memory", _memory)):
        if name in r:
            lines += section(r)
    if NOTES.exists():
        lines += ["---", "", NOTES.read_text(encoding="utf-8").strip(), ""]
    return "\n".join(lines)


def summary(r: dict[str, Any]) -> str:
    """A few lines for the console."""
    out = []
    for target, measured, _, status in targets(r):
        out.append(f"  {status.strip('*'):7s} {target}: {measured}")
    return "\n".join(out) or "  (no targets measured)"
