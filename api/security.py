"""Security headers on every response, and a Flask that cannot be put in debug mode."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, Response
from flask.helpers import get_debug_flag

from .config import ConfigError

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # The API serves JSON only: nothing may load, run or frame it.
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}


class ProductionFlask(Flask):
    """Flask with debug mode (and so the werkzeug debugger) permanently off."""

    @property  # type: ignore[override]
    def debug(self) -> bool:
        return False

    @debug.setter
    def debug(self, value: bool) -> None:
        # FLASK_DEBUG, app.run(debug=True) and config["DEBUG"] all end here; refuse them.
        self.config["DEBUG"] = False

    def make_default_options_response(self) -> Response:
        """Answer OPTIONS with 204 and the Allow header (Flask's default is an empty text/html 200)."""
        allow = super().make_default_options_response().headers.get("Allow", "")
        response = Response(status=204, headers={"Allow": allow})
        response.headers.pop("Content-Type", None)  # no body, so no type
        return response

    def run(self, *args: Any, **kwargs: Any) -> None:
        """Run the development server, never with the debugger or reloader."""
        kwargs.update(debug=False, use_debugger=False, use_evalex=False)
        super().run(*args, **kwargs)


def refuse_debug_server() -> None:
    """Refuse `flask run --debug` (FLASK_DEBUG): it would wrap the app in the werkzeug debugger."""
    # The `flask` command sets FLASK_RUN_FROM_CLI; gunicorn never reads FLASK_DEBUG.
    if os.environ.get("FLASK_RUN_FROM_CLI") == "true" and get_debug_flag():
        raise ConfigError("rightsgate never runs in debug mode: unset FLASK_DEBUG (or drop --debug); "
                          "serve it with gunicorn --config gunicorn.conf.py")


# (lower-case name, name, value) of every header a response gets unless it has its own.
_DEFAULTS = tuple((name.lower(), name, value)
                  for name, value in [*SECURITY_HEADERS.items(), ("Cache-Control", "no-store")])


def init_security_headers(app: Flask) -> None:
    """Add the security headers to every response, errors and 304s included."""

    @app.after_request
    def _headers(response: Response) -> Response:
        # One pass over the headers instead of a setdefault (a scan each) per default:
        # this runs on every request (bench/results.md).
        headers = response.headers
        present = {key.lower() for key, _ in headers}
        for lower, name, value in _DEFAULTS:
            if lower not in present:
                headers.add(name, value)
        return response
