"""Item 5: security properties, checked where they matter (over real gunicorn) or at
the source (loader calls, pins). In-process versions of some live in tests/api
(test_meta: headers on a few paths and CORS; test_errors: body limit, debug refused;
test_logging: the app's own request line); these tests add what only a real server
shows: every status the app answers over HTTP, gunicorn's own error log and error
pages, the limit enforced before the body is read, debug and CORS as deployed.
"""

from __future__ import annotations

import ast
import json
import re
import socket
import time
from importlib import metadata
from pathlib import Path

import pytest
import requests
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ..conftest import REPO_ROOT, RULES_DIR
from ..gunicorn_server import Server, running

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}
ALLOWED_ORIGIN = "https://app.example"
LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """gunicorn as shipped (CORS closed), serving the shipped rules."""
    with running(RULES_DIR, tmp_path_factory.mktemp("security"), workers=2, interval=0) as srv:
        yield srv


@pytest.fixture(scope="module")
def configured_server(tmp_path_factory):
    """gunicorn with a CORS allow-list, started with every debug switch Flask knows set."""
    env = {"RIGHTSGATE_CORS_ORIGINS": f"{ALLOWED_ORIGIN}, https://admin.example",
           "FLASK_DEBUG": "1", "FLASK_ENV": "development", "WERKZEUG_DEBUG_PIN": "off"}
    with running(RULES_DIR, tmp_path_factory.mktemp("security-cors"), workers=1, interval=0,
                 env=env) as srv:
        yield srv


def raw_exchange(port: int, data: bytes, timeout: float = 5) -> bytes:
    """Send raw bytes on a fresh connection; return the first response (or all until close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before taking everything: read its answer
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
                head, sep, body = answer.partition(b"\r\n\r\n")
                length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                if sep and length and len(body) >= int(length.group(1)):
                    break
        except (TimeoutError, ConnectionResetError):
            pass
    return answer


# -- security headers on everything the app answers, over HTTP ----------------------------


def app_answers(base: str) -> dict[str, requests.Response]:
    """One real answer of every kind the app gives: each success and each error status."""
    s = requests.Session()
    decision = f"{base}/v1/decision"
    json_type = {"Content-Type": "application/json"}
    first = s.get(decision, params={"jurisdiction": "DE"}, timeout=10)
    out = {
        "200 decision": first,
        "200 post": s.post(decision, json={"jurisdiction": "DE", "age": 15}, timeout=10),
        "200 jurisdictions": s.get(f"{base}/v1/jurisdictions", timeout=10),
        "200 catalog": s.get(f"{base}/v1/catalog", timeout=10),
        "200 locales": s.get(f"{base}/v1/locales", timeout=10),
        "200 healthz": s.get(f"{base}/healthz", timeout=10),
        "200 openapi": s.get(f"{base}/openapi.json", timeout=10),
        "304": s.get(decision, params={"jurisdiction": "DE"}, timeout=10,
                     headers={"If-None-Match": first.headers["ETag"]}),
        "HEAD": s.head(decision, params={"jurisdiction": "DE"}, timeout=10),
        "OPTIONS": s.options(decision, timeout=10),
        "400": s.post(decision, data=b"{not json", headers=json_type, timeout=10),
        "404": s.get(f"{base}/nowhere", timeout=10),
        "404 html-ish": s.get(f"{base}/index.html", headers={"Accept": "text/html,*/*"}, timeout=10),
        "405": s.delete(decision, timeout=10),
        "406": s.get(decision, headers={"Accept": "text/html"}, timeout=10),
        "412": s.post(decision, json={"jurisdiction": "DE"}, timeout=10, headers={"If-None-Match": "*"}),
        # Fresh connections: gunicorn closes one whose unread body is over 64 KiB (see the docs).
        "413": requests.post(decision, data=b" " * (LIMIT + 1), headers=json_type, timeout=10),
        "413 chunked": requests.post(decision, data=iter([b" " * LIMIT, b" "]), headers=json_type,
                                     timeout=10),
        "415": s.post(decision, data=b"jurisdiction=DE", timeout=10,
                      headers={"Content-Type": "application/x-www-form-urlencoded"}),
        "422": s.get(decision, params={"age": "old"}, timeout=10),
    }
    s.close()
    return out


@pytest.mark.server
def test_every_app_answer_over_gunicorn_has_the_security_headers(server):
    answers = app_answers(server.base)
    for name, response in answers.items():
        expected_status = int(name.split()[0]) if name[0].isdigit() else None
        if expected_status is not None:
            assert response.status_code == expected_status, (name, response.status_code, response.text[:300])
        for header, value in SECURITY_HEADERS.items():
            assert response.headers.get(header) == value, (name, header, dict(response.headers))
        content_type = response.headers.get("Content-Type", "")
        if response.content:
            assert content_type in ("application/json", "application/problem+json"), (name, content_type)
            assert b"<html" not in response.content.lower() and b"Traceback" not in response.content
        if response.status_code >= 400:
            assert content_type == "application/problem+json", name
            assert response.headers["Cache-Control"] == "no-store", name
        assert "werkzeug" not in response.headers.get("Server", "").lower()


@pytest.mark.server
def test_the_body_limit_is_enforced_before_the_body_is_read(server):
    """A 50 MB Content-Length is refused at once, without the body being sent or buffered;
    a chunked body is cut off one byte past the limit."""
    started = time.monotonic()
    head = (b"POST /v1/decision HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 50000000\r\n\r\n{")
    answer = raw_exchange(server.port, head)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"application/problem+json" in answer
    assert time.monotonic() - started < 3

    chunk = b" " * 8192
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(LIMIT // len(chunk) + 1))
    chunked = (b"POST /v1/decision HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n" + body)  # never terminated: the server must stop
    answer = raw_exchange(server.port, chunked)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]

    exact = requests.post(f"{server.base}/v1/decision", timeout=10,
                          data=b'{"jurisdiction": "DE"}'.ljust(LIMIT),
                          headers={"Content-Type": "application/json"})
    assert exact.status_code == 200


@pytest.mark.server
@pytest.mark.parametrize("body", [
    b"zz\r\n{}\r\n0\r\n\r\n", b"2\r\n{}XX0\r\n\r\n", b"2;a=\x01\r\n{}\r\n0\r\n\r\n",
], ids=["chunk-size", "chunk-terminator", "chunk-extension"])
def test_a_broken_chunked_body_is_a_400_problem_not_a_500(server, body):
    """A broken chunked body is the client's error (under gunicorn, whose wsgi.input
    raised its own exceptions, they were 500s), answered without logging the bytes.

    hyper (granian) checks chunk sizes but ends the body at a bad chunk terminator or
    extension instead of failing the read: the app then answers the well-formed part
    (`{}`), as the 200 it is; never a 500 (docs/deploy.md)."""
    answer = raw_exchange(server.port, b"POST /v1/decision HTTP/1.1\r\nHost: x\r\n"
                                       b"Content-Type: application/json\r\n"
                                       b"Transfer-Encoding: chunked\r\n\r\n" + body)
    head, _, payload = answer.partition(b"\r\n\r\n")
    head = head.lower()  # header names are case-insensitive (the server sends them lower case)
    for name, value in SECURITY_HEADERS.items():
        assert f"{name}: {value}".lower().encode() in head
    if not body.startswith(b"zz") and head.startswith(b"http/1.1 200"):
        assert json.loads(payload)["age_gate"]["status"] == "age_required"  # the `{}` prefix
        return
    assert head.startswith(b"http/1.1 400"), answer[:300]
    assert b"content-type: application/problem+json" in head
    assert json.loads(payload)["type"].endswith("/malformed-body")


@pytest.mark.server
def test_gunicorn_error_pages_escape_what_they_echo(server):
    """Requests gunicorn cannot parse never reach the app: gunicorn answers them itself
    with a small text/html page (without the app's headers; see docs/reliability.md).
    What it echoes of the request must be escaped."""
    probes = [
        b"GET /<script>alert(1)</script> HTTP/9.9\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-<script>alert(1)</script>\r\n\r\n",
        b"G<img> / HTTP/1.1\r\nHost: x\r\n\r\n",
    ]
    for probe in probes:
        answer = raw_exchange(server.port, probe)
        assert answer.startswith(b"HTTP/1.1 4"), answer[:200]
        assert b"<script>" not in answer and b"<img>" not in answer, answer


# -- no age or birthdate in any log line of a real server ---------------------------------

AGES = (117, 3, 126)
BIRTHDATES = ("1911-04-23", "1923-08-19", "2014-12-07")
INVALID = ("1911-02-30", "2987-06-13", "23.04.1911", "1173", "-4417", "117.5")


def sensitive_requests(server: Server) -> int:
    """Send ages and birthdates every way a client can, valid and not; return the count."""
    base = f"{server.base}/v1/decision"
    s = requests.Session()
    sent = []
    for age in AGES:
        sent.append(s.get(base, params={"jurisdiction": "AT", "age": age}, timeout=10))
        sent.append(s.post(base, json={"jurisdiction": "AT", "age": age, "gpc": True}, timeout=10))
    for birthdate in BIRTHDATES:
        sent.append(s.get(base, params={"jurisdiction": "FR", "birthdate": birthdate}, timeout=10))
        sent.append(s.post(base, json={"jurisdiction": "FR", "birthdate": birthdate}, timeout=10))
    for bad in INVALID:  # each a 422
        sent.append(s.get(base, params={"age": bad}, timeout=10))
        sent.append(s.get(base, params={"birthdate": bad}, timeout=10))
        sent.append(s.post(base, json={"birthdate": bad}, timeout=10))
        sent.append(s.post(base, json={"age": bad}, timeout=10))
    sent.append(s.get(base, params={"age": AGES[0], "birthdate": BIRTHDATES[0]}, timeout=10))  # both
    sent.append(s.post(base, json={"age": AGES[1], "birthdate": BIRTHDATES[1], "x": BIRTHDATES[2]},
                       timeout=10))
    sent.append(s.post(base, params={"birthdate": BIRTHDATES[2]}, json={"age": AGES[2]}, timeout=10))
    sent.append(s.get(base, params=[("age", AGES[0]), ("age", AGES[1])], timeout=10))  # repeated
    sent.append(s.get(base, params={f"birthdate_{BIRTHDATES[0]}": AGES[0]}, timeout=10))  # unknown name
    sent.append(s.post(base, data=f'{{"birthdate": "{BIRTHDATES[0]}",'.encode(), timeout=10,
                       headers={"Content-Type": "application/json"}))  # 400
    sent.append(s.post(base, data=f"birthdate={BIRTHDATES[1]}&age={AGES[0]}".encode(), timeout=10,
                       headers={"Content-Type": "application/x-www-form-urlencoded"}))  # 415
    sent.append(requests.post(base, data=f'{{"birthdate": "{BIRTHDATES[2]}"}}'.encode().ljust(LIMIT + 10),
                              headers={"Content-Type": "application/json"}, timeout=10))  # 413
    s.close()
    statuses = {r.status_code for r in sent}
    assert statuses >= {200, 400, 413, 415, 422}, statuses
    assert all(r.status_code < 500 for r in sent)
    # What the server itself cannot parse (gunicorn logged a warning quoting each).
    for raw in (
        f"GET /v1/decision?age={AGES[0]}&birthdate={BIRTHDATES[0]}\r\nHost: x\r\n\r\n",
        f"GET /v1/decision?birthdate={BIRTHDATES[1]}&age={AGES[1]} HTTP/1.1 x\r\nHost: x\r\n\r\n",
        f"get /v1/decision?birthdate={BIRTHDATES[2]} HTTP/1.1\r\nHost: x\r\n\r\n",
        f"GET /v1/decision HTTP/1.1\r\nHost: x\r\nX-Birthdate {BIRTHDATES[0]}\r\n\r\n",
        f"GET /v1/decision HTTP/1.1\r\nHost: x\r\nExpect: {BIRTHDATES[1]}\r\n\r\n",
        f"POST /v1/decision HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Transfer-Encoding: chunked\r\n\r\n{BIRTHDATES[2]}\r\n{{}}\r\n0\r\n\r\n",
    ):
        answer = raw_exchange(server.port, raw.encode())
        # gunicorn refused each (4xx); hyper accepts an unknown Expect value and a lower-case
        # method word, so some are answered by the app. What matters here is the log.
        assert answer.startswith((b"HTTP/1.1 2", b"HTTP/1.1 4")), answer[:200]
    return len(sent)


@pytest.mark.server
def test_no_age_or_birthdate_reaches_the_logs_of_a_real_server(server):
    tail = server.tail()
    tail.skip_to_end()
    count = sensitive_requests(server)
    # The workers write their request lines in batches (RIGHTSGATE_LOG_FLUSH_INTERVAL).
    deadline = time.monotonic() + 20
    lines = tail.lines()
    while sum('"event": "request"' in line for line in lines) < count and time.monotonic() < deadline:
        time.sleep(0.1)
        lines += tail.lines()
    text = "\n".join(lines) + server.stdout()
    assert len([line for line in lines if '"event": "request"' in line]) >= count
    for value in (*BIRTHDATES, *INVALID):
        assert value not in text, f"{value} is in the server log"
    for age in AGES:
        for pattern in (f"age={age}", f'"age": {age}', f'"age":{age}', f"age {age}"):
            assert pattern not in text, f"{pattern} is in the server log"
    assert "birthdate" not in text.lower() and "?" not in "".join(
        json.loads(line)["path"] for line in lines if '"event": "request"' in line)
    for line in lines:
        if line.startswith("{"):
            record = json.loads(line)
            for key in ("message", "path", "jurisdiction", "locale", "method"):
                for age in AGES:
                    assert str(age) not in str(record.get(key) or ""), (key, record)


# -- no debug mode, CORS as configured ----------------------------------------------------


@pytest.mark.server
def test_debug_switches_do_not_reach_a_real_server(configured_server):
    base = configured_server.base
    console = requests.get(f"{base}/console", timeout=10)
    assert console.status_code == 404
    assert console.headers["Content-Type"] == "application/problem+json"
    resource = requests.get(f"{base}/v1/decision", timeout=10,
                            params={"__debugger__": "yes", "cmd": "resource", "f": "debugger.js"})
    assert resource.status_code == 422
    for response in (console, resource):
        assert response.headers["Content-Type"] == "application/problem+json"
        assert b"Werkzeug" not in response.content and b"<html" not in response.content.lower()
    assert "Debugger is active" not in configured_server.stderr()


@pytest.mark.server
def test_cors_allow_list_over_a_real_server(server, configured_server):
    preflight_headers = {"Access-Control-Request-Method": "POST",
                         "Access-Control-Request-Headers": "content-type, sec-gpc"}
    # Default: closed. No origin is allowed, not even by preflight.
    closed = requests.options(f"{server.base}/v1/decision", timeout=10,
                              headers={"Origin": ALLOWED_ORIGIN, **preflight_headers})
    assert "Access-Control-Allow-Origin" not in closed.headers
    get = requests.get(f"{server.base}/v1/decision", headers={"Origin": ALLOWED_ORIGIN}, timeout=10)
    assert "Access-Control-Allow-Origin" not in get.headers

    # Configured: the listed origins only; the preflight is answered before any view.
    base = configured_server.base
    preflight = requests.options(f"{base}/v1/decision", timeout=10,
                                 headers={"Origin": ALLOWED_ORIGIN, **preflight_headers})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert {"content-type", "sec-gpc"} <= {h.strip().lower() for h in
                                          preflight.headers["Access-Control-Allow-Headers"].split(",")}
    for header, value in SECURITY_HEADERS.items():
        assert preflight.headers[header] == value
    allowed = requests.post(f"{base}/v1/decision", json={"jurisdiction": "DE"}, timeout=10,
                            headers={"Origin": ALLOWED_ORIGIN})
    assert allowed.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "Origin" in allowed.headers["Vary"]
    assert "ETag" in allowed.headers["Access-Control-Expose-Headers"]
    for origin in ("https://evil.example", "https://app.example.evil.example", "null", "http://app.example"):
        refused = requests.options(f"{base}/v1/decision", timeout=10,
                                   headers={"Origin": origin, **preflight_headers})
        assert "Access-Control-Allow-Origin" not in refused.headers, origin
        plain = requests.get(f"{base}/v1/decision", headers={"Origin": origin}, timeout=10)
        assert "Access-Control-Allow-Origin" not in plain.headers, origin
        assert "Origin" in plain.headers["Vary"]


# -- YAML only through the safe loader ----------------------------------------------------

UNSAFE_YAML = re.compile(
    r"yaml\.load\(|yaml\.load_all\(|yaml\.unsafe_load|yaml\.full_load|Loader\s*=\s*yaml\.Loader"
    r"|FullLoader|UnsafeLoader|yaml\.Loader\b|yaml\.CLoader\b|yaml\.CFullLoader|yaml\.UnsafeLoader")
SAFE_LOADER_BASES = {"SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader"}


def python_sources() -> list[Path]:
    files = sorted((REPO_ROOT / "engine").rglob("*.py")) + sorted((REPO_ROOT / "api").rglob("*.py"))
    return [*files, REPO_ROOT / "wsgi.py", REPO_ROOT / "gunicorn.conf.py"]


def test_the_unsafe_yaml_pattern_catches_unsafe_calls():
    for bad in ("yaml.load(text)", "yaml.load(t, Loader=yaml.Loader)", "yaml.unsafe_load(t)",
                "yaml.load(t, Loader=yaml.FullLoader)", "yaml.full_load(t)", "yaml.load_all(t)",
                "class L(yaml.Loader): pass", "yaml.load(t, Loader=yaml.UnsafeLoader)"):
        assert UNSAFE_YAML.search(bad), bad
    for good in ("yaml.safe_load(t)", "class L(yaml.SafeLoader): pass", "yaml.safe_load_all(t)"):
        assert not UNSAFE_YAML.search(good), good


def test_yaml_is_only_read_through_the_safe_loader():
    sources = python_sources()
    assert len(sources) > 10
    for path in sources:
        text = path.read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), 1):
            assert not UNSAFE_YAML.search(line), f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}"
        # A loader class of our own must build on a safe one.
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                bases = {b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "") for b in node.bases}
                loaders = {b for b in bases if b.endswith("Loader")}
                assert loaders <= SAFE_LOADER_BASES, f"{path.name}: class {node.name}({', '.join(loaders)})"


# -- dependency pins ------------------------------------------------------------------------


def read_pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for number, raw in enumerate((REPO_ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)", line)
        assert match, f"constraints.txt:{number}: {raw!r} is not an exact pin (name==version)"
        name = canonicalize_name(match.group(1))
        assert name not in pins, f"constraints.txt:{number}: {name} pinned twice"
        pins[name] = match.group(2)
    return pins


def installed_dependencies(root: str = "rightsgate", extras: frozenset = frozenset({"test", "bench"})
                           ) -> dict[str, str]:
    """Every installed distribution the project needs (with its test and bench extras), transitively."""
    found: dict[str, set[str]] = {}
    todo = [(root, set(extras))]
    while todo:
        name, wanted_extras = todo.pop()
        for text in metadata.distribution(name).requires or []:
            requirement = Requirement(text)
            if requirement.marker and not any(requirement.marker.evaluate({"extra": extra})
                                              for extra in (wanted_extras | {""})):
                continue
            key = canonicalize_name(requirement.name)
            try:
                metadata.distribution(requirement.name)
            except metadata.PackageNotFoundError:
                raise AssertionError(f"{requirement} (needed by {name}) is not installed") from None
            new_extras = set(requirement.extras) - found.get(key, set())
            if key not in found or new_extras:
                found.setdefault(key, set()).update(requirement.extras)
                todo.append((requirement.name, set(requirement.extras)))
    return {key: metadata.version(key) for key in found}


def test_every_installed_dependency_is_pinned_in_constraints():
    pins = read_pins()
    installed = installed_dependencies()
    assert len(installed) > 20  # the closure really was walked (flask, schemathesis, ...)
    unpinned = sorted(set(installed) - set(pins))
    assert not unpinned, f"installed dependencies without a pin in constraints.txt: {unpinned}"
    drift = {name: (installed[name], pins[name]) for name in installed if installed[name] != pins[name]}
    assert not drift, f"installed version differs from the pin (installed, pinned): {drift}"


def test_the_readme_commands_and_ci_install_with_the_constraints():
    for script in ("scripts/serve", "scripts/test"):
        text = (REPO_ROOT / script).read_text(encoding="utf-8")
        installs = [line for line in text.splitlines()
                    if re.search(r"\bpip\b.*\binstall\b", line) and not line.lstrip().startswith("#")]
        assert installs, f"{script} installs nothing"
        for line in installs:
            assert "-c constraints.txt" in line, f"{script}: {line.strip()}"
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^exec bash scripts/test\b", ci, re.MULTILINE), "CI does not run scripts/test"
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert "scripts/serve" in readme and "scripts/test" in readme and "constraints.txt" in readme
