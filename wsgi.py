"""The WSGI entry point for gunicorn: `gunicorn --config gunicorn.conf.py wsgi:app`.

An invalid rule set stops the process here: the report (every problem at
file:line) goes to stderr and the exit status is non-zero, so a deploy of broken
rules fails loudly instead of serving half of them.
"""

from __future__ import annotations

import sys

from api import create_app
from api.config import ConfigError
from engine import RuleSetInvalid

try:
    app = create_app()
except RuleSetInvalid as error:
    print(f"rightsgate: refusing to start: {error.summary()}", file=sys.stderr, flush=True)
    raise SystemExit(1) from None
except ConfigError as error:
    print(f"rightsgate: refusing to start: {error}", file=sys.stderr, flush=True)
    raise SystemExit(1) from None
