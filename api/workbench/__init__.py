"""The legal workbench: a web page where the legal team sees, checks and previews decisions.

It is its own small Flask app, never part of the public decision app: it renders HTML
(the public app answers JSON only, with a CSP that forbids any page), shows rule
internals and working copies, and is meant for the legal team's network only. The
server (api/server.py) starts it in its master process on RIGHTSGATE_WORKBENCH_BIND
(off by default), next to the reloader that follows the live rule files, so it always
shows the set the workers serve.

    create_workbench_app(reloader, draft_dir=Path("rules-draft")).run()  # for a laptop
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask, Response

from ..security import ProductionFlask
from .draft import Draft
from .views import bp

if TYPE_CHECKING:
    from ..reload import RulesReloader

EXTENSION = "rightsgate"
DRAFT = "rightsgate.draft"

# Pages, their stylesheet and script come from here only; nothing may frame them.
WORKBENCH_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def create_workbench_app(reloader: RulesReloader, draft_dir: Path | None = None,
                         config: dict[str, Any] | None = None) -> Flask:
    """The workbench for the rules `reloader` serves, comparing them with `draft_dir`."""
    app = ProductionFlask(__name__, static_folder=None)
    app.config.update(config or {})
    app.extensions[EXTENSION] = reloader
    app.extensions[DRAFT] = Draft(draft_dir, reloader.bundles)
    app.register_blueprint(bp)

    @app.after_request
    def _headers(response: Response) -> Response:
        for name, value in WORKBENCH_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return app


def start_workbench_server(host: str, port: int, app: Flask) -> Any:
    """Serve the workbench on host:port from threads of this process (the server's master)."""
    import threading

    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            return  # no access log: preview queries carry ages and birthdates

    server = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
    threading.Thread(target=server.serve_forever, name="rightsgate-workbench", daemon=True).start()
    return server
