"""A real nginx on a loopback port, running a server block from docs/deploy.md.

The documented blocks are the configuration under test: `documented_site` takes the
```nginx block of docs/deploy.md whose first line names it, and replaces the values an
operator would change (port, upstream, directories), each of which must occur exactly
once, so the test cannot drift from the document. `running_nginx` wraps the block in a
minimal main configuration written to the test's directory and runs Debian's nginx in
the foreground (`daemon off`), stopping it afterwards. No nginx is a failure, not a skip:
`scripts/test` installs it.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from ..conftest import REPO_ROOT
from ..gunicorn_server import free_port

DEPLOY_DOC = REPO_ROOT / "docs" / "deploy.md"
START_TIMEOUT = 20.0

MAIN_CONF = """\
{user}worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 256; }}
http {{
  client_body_temp_path {work}/client_body;
  proxy_temp_path {work}/proxy;
  fastcgi_temp_path {work}/fastcgi;
  uwsgi_temp_path {work}/uwsgi;
  scgi_temp_path {work}/scgi;
{site}
}}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    assert found, "nginx is not installed (scripts/test installs it: apt-get install nginx-light)"
    return found


def documented_site(marker: str, replacements: Mapping[str, str]) -> str:
    """The ```nginx block of docs/deploy.md whose first line holds `marker`, with values replaced."""
    blocks = re.findall(r"```nginx\n(.*?)```", DEPLOY_DOC.read_text(encoding="utf-8"), re.S)
    found = [b for b in blocks if marker in b.splitlines()[0]]
    assert len(found) == 1, f"docs/deploy.md has {len(found)} nginx blocks marked {marker!r}"
    site = found[0]
    for old, new in replacements.items():
        assert site.count(old) == 1, f"{old!r} occurs {site.count(old)} times in the {marker!r} block"
        site = site.replace(old, new)
    return site


@contextmanager
def running_nginx(site: str, work: Path) -> Iterator[subprocess.Popen]:
    """Run nginx with `site` inside http {} until the block ends; its files live in `work`."""
    work.mkdir(parents=True, exist_ok=True)
    # As root, nginx's workers would switch to `nobody`, who cannot read the test's files.
    user = f"user {pwd.getpwuid(os.getuid()).pw_name};\n" if os.geteuid() == 0 else ""
    conf = work / "nginx.conf"
    conf.write_text(MAIN_CONF.format(user=user, work=work, site=site), encoding="utf-8")
    command = [nginx_binary(), "-p", str(work), "-c", str(conf), "-g", "daemon off;"]
    check = subprocess.run([*command[:-2], "-t"], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, f"nginx -t refused the configuration:\n{check.stderr}\n{conf.read_text()}"
    port = int(re.search(r"listen 127\.0\.0\.1:(\d+);", site).group(1))  # type: ignore[union-attr]
    stderr = work / "stderr.log"
    with stderr.open("ab") as err:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, f"nginx exited: {stderr.read_text(errors='replace')}"
                assert time.monotonic() < deadline, "nginx did not start listening"
                time.sleep(0.05)
        yield process
    finally:
        process.terminate()  # SIGTERM: nginx's fast shutdown
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def loopback_listen() -> tuple[int, str]:
    """A free loopback port and the `listen` line for it."""
    port = free_port()
    return port, f"listen 127.0.0.1:{port};"
