"""The blueprints, and what every view shares: the current Serving and the response.

Views are thin: they read what the request carries, ask the Serving (api.serving)
for an Answer, and turn it into a Flask response with `respond`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, Response, current_app, request

from ..logging import annotate
from ..serving import Answer, Serving, conditional

if TYPE_CHECKING:
    from ..reload import RulesReloader

EXTENSION = "rightsgate"


def reloader() -> RulesReloader:
    """Return this app's reloader (it holds the current Serving)."""
    return current_app.extensions[EXTENSION]


def current_serving() -> Serving:
    """Return the Serving to answer this request with (read it once per request)."""
    return current_app.extensions[EXTENSION].serving


def respond(answer: Answer) -> Response:
    """The Flask response for `answer`: 200 with the body, or 304 (If-None-Match)."""
    annotate(ruleset=answer.version, jurisdiction=answer.jurisdiction, locale=answer.locale)
    ready = conditional(answer, request.headers.get("If-None-Match"), request.method)
    response = Response(ready.body, status=ready.status, headers=ready.headers)
    if ready.status == 304:
        response.headers.pop("Content-Type", None)
    return response


def register_blueprints(app: Flask) -> None:
    """Mount every endpoint."""
    from ..component import load_component
    from .changes import bp as changes_bp
    from .component import component_blueprint
    from .decision import bp as decision_bp
    from .meta import bp as meta_bp

    app.register_blueprint(decision_bp)
    app.register_blueprint(changes_bp)
    app.register_blueprint(meta_bp)
    app.register_blueprint(component_blueprint(load_component()))
