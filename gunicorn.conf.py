"""The former gunicorn settings (gthread, 2 workers x 4 threads), kept as a baseline.

rightsgate is served by granian through api/server.py (scripts/serve; why, with
numbers: docs/deploy.md). This file is what bench/ measures as "today's config" and
what `RIGHTSGATE_TEST_SERVER=gunicorn pytest ...` runs the server tests against, to
show what issue 15's tests catch there. Not for production: eight slow clients hold
every thread.

`gunicorn --config gunicorn.conf.py`.

RIGHTSGATE_BIND (default 127.0.0.1:8000) and RIGHTSGATE_WORKERS (default 2) are
read here; the app reads its own RIGHTSGATE_* settings. The rule set is loaded once
in the master (preload_app) and shared with the workers by fork; each worker then
watches the rules itself (post_fork starts its watcher). `kill -HUP <master>`
restarts the workers gracefully; each new worker loads the current rules first.
"""

from __future__ import annotations

import os
from typing import Any

wsgi_app = "wsgi:app"
bind = os.environ.get("RIGHTSGATE_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("RIGHTSGATE_WORKERS", "2"))
worker_class = "gthread"
threads = 4
# Load and validate the rules once, before forking: a broken rule set stops the
# master with its report instead of each worker failing to boot in a loop.
preload_app = True

# The app writes one JSON line per request itself (without query strings, which can
# hold ages and birthdates); gunicorn's access log would repeat them with the query.
accesslog = None
errorlog = "-"
loglevel = "info"

# Answers come from memory in well under a millisecond; anything slow is stuck.
timeout = 30
graceful_timeout = 10
keepalive = 5
# Request line and headers: gunicorn's defaults, stated so nobody raises them by accident.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
# gunicorn >= 25 opens a management socket in $HOME by default; we manage workers with
# signals (TERM, HUP, TTIN/TTOU) and want no extra control surface (older versions
# ignore this setting).
control_socket_disable = True


def post_fork(server: Any, worker: Any) -> None:
    """In each new worker: catch up with the rule files, then start watching them."""
    from api.reload import after_fork

    after_fork()
