"""The Dockerfile, checked without a Docker daemon (none runs on the CI machine).

1. hadolint (the pinned wheel from PyPI) finds nothing.
2. What it promises: two stages, an unprivileged numeric user, the rules baked in at
   /app/rules, a HEALTHCHECK on /healthz, the same settings as scripts/serve.
3. Its steps replayed outside Docker: the build context as .dockerignore leaves it, the
   build stage's pip install into a fresh venv (not editable, as in the image), then the
   run stage's layout (/app/rules, /app/locales, no source tree) and ENV, served from
   another directory: the server starts, the HEALTHCHECK command passes, a decision is
   answered.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from ..conftest import REPO_ROOT
from ..gunicorn_server import free_port

DOCKERFILE = REPO_ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip("\\").strip() + " "
        if not line.endswith("\\"):
            word, _, rest = pending.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
            pending = ""
    return out


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for word, rest in instructions():
        if word == "FROM":
            found.append([])
        found[-1].append((word, rest))
    return found


def final_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in stages()[-1]:
        if word == "ENV":
            for item in rest.split():
                key, _, value = item.partition("=")
                env[key] = value
    return env


def test_hadolint_finds_nothing():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_runs_unprivileged_with_the_rules_baked_in_and_a_healthcheck():
    build, run = stages()[0], stages()[-1]
    assert len(stages()) >= 2 and " AS " in build[0][1].upper()
    assert not any(word == "RUN" and "gcc" in rest for word, rest in run), "no compiler in the image"
    users = [rest for word, rest in run if word == "USER"]
    assert users and users[-1].split(":")[0].isdigit() and users[-1].split(":")[0] != "0"
    assert ("COPY", "--chown=root:root rules/ /app/rules/") in run  # rules not writable by the service
    healthcheck = next(rest for word, rest in run if word == "HEALTHCHECK")
    assert '"-m", "api.server", "--check"' in healthcheck
    env = final_env()
    assert env["RIGHTSGATE_RULES_DIR"] == "/app/rules" and env["RIGHTSGATE_LOCALES_DIR"] == "/app/locales"
    assert ("CMD", '["python", "-m", "api.server"]') in run  # what scripts/serve runs
    assert "exec .venv/bin/python -m api.server" in (REPO_ROOT / "scripts" / "serve").read_text()
    assert any(word == "RUN" and "pip install -c constraints.txt ." in rest for word, rest in build)


def build_context(target: Path) -> None:
    """Copy the files .dockerignore lets into the build context (its `*` + `!name` form)."""
    allowed, excluded = [], []
    for line in (REPO_ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or line == "*":
            continue
        (allowed if line.startswith("!") else excluded).append(line.lstrip("!").rstrip("/"))
    for name in allowed:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns(
                *[pattern.split("/")[-1] for pattern in excluded]))
        else:
            shutil.copy2(source, target / name)
    for path in target.rglob("*"):
        assert not any(fnmatch.fnmatch(path.name, p.split("/")[-1]) for p in excluded), path


@pytest.mark.server
@pytest.mark.slow
def test_the_dockerfile_steps_build_and_serve_outside_docker(tmp_path):
    context = tmp_path / "src"
    context.mkdir()
    build_context(context)
    # The build stage: a fresh venv, the project installed (not editable) with the pins.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                              "-c", "constraints.txt", "."], cwd=context, capture_output=True, text=True)
    assert install.returncode == 0, install.stderr[-3000:]
    subprocess.run([str(python), "-c", "import durable.lang, granian, prometheus_client"], check=True)
    # The run stage: /app holds only rules/ and locales/; the code is in the venv.
    app = tmp_path / "app"
    shutil.copytree(context / "rules", app / "rules")
    shutil.copytree(context / "locales", app / "locales")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RIGHTSGATE_", "PYTHONPATH"))}
    env.update(final_env())
    env.update({"PATH": f"{venv / 'bin'}:{env.get('PATH', '')}",
                "RIGHTSGATE_RULES_DIR": str(app / "rules"), "RIGHTSGATE_LOCALES_DIR": str(app / "locales"),
                "RIGHTSGATE_BIND": f"127.0.0.1:{port}"})  # the image's 0.0.0.0, kept on loopback here
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen([str(python), "-m", "api.server"], cwd=app, env=env, stdout=log, stderr=log)
    try:
        # Wait with plain requests (each HEALTHCHECK run is a fresh interpreter importing the
        # app: a second of CPU taken from the server compiling the rules), then the
        # HEALTHCHECK command itself must pass.
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "the server never answered /healthz"
            time.sleep(0.1)
        check = subprocess.run([str(python), "-m", "api.server", "--check"], cwd=app, env=env,
                               capture_output=True, text=True)
        assert check.returncode == 0, f"the HEALTHCHECK failed: {check.stdout[-2000:]}{check.stderr[-2000:]}"
        answer = requests.get(f"http://127.0.0.1:{port}/v1/decision",
                              params={"jurisdiction": "AT", "age": 13}, timeout=10)
        assert answer.status_code == 200
        assert answer.json()["age_gate"]["status"] == "parental_consent_required"
        health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).json()
        # Built from the rules baked in at /app/rules (healthz names files, never paths).
        served = {f["name"]: f["sha256"] for f in health["ruleset"]["files"]}
        baked = {str(p.relative_to(app / "rules")): hashlib.sha256(p.read_bytes()).hexdigest()
                 for p in (app / "rules").rglob("*.yaml")}
        assert served == baked
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
