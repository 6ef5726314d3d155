"""rightsgate's HTTP API: `create_app()` builds the Flask app around the rule engine.

    app = create_app()                                  # settings from RIGHTSGATE_* env
    app = create_app({"RIGHTSGATE_RULES_DIR": path})    # or explicit ones (tests)

Creating the app loads, validates and compiles the rule set; an invalid one raises
engine.RuleSetInvalid (with every problem at file:line), so a server never starts
on half the rules. Modules, one per concern: serving (the request path's owner:
rule set, words, caches), config (settings), arguments (request schemas, body
reading, the fast path), responses (response schemas), problems and errors
(problem+json), etag (validators), negotiation (language, Accept), reload (watch
files, ask the Serving for a successor, keep the last good set), front (answers
remembered decisions before Flask, records every request), journal (the
request log's and metrics' entries, written in batches), geo (a place from a trusted edge's headers),
archive (activated rule set versions kept on disk), replay (earlier rule sets answering
again: `version=`), changes (GET /v1/changes), export (`rightsgate export`: the static
export), component (the drop-in component's file: its digest and integrity), logging
(the request log's lines, redaction), cors, security (headers, no debug), spec (OpenAPI), views/ (thin).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click
from flask import Flask, Response, request

from .config import load_settings
from .cors import init_cors
from .errors import register_error_handlers
from .etag import CachedBody, body_etag
from .front import Front, check_protocol
from .journal import RequestJournal
from .logging import RequestLog, annotate, configure_logging
from .negotiation import check_accept
from .reload import RulesReloader
from .security import ProductionFlask, init_security_headers, refuse_debug_server
from .serving import ServingSettings
from .spec import spec_json
from .views import EXTENSION, register_blueprints
from .views.meta import OPENAPI_KEY

__all__ = ["JOURNAL", "create_app"]

# app.extensions[JOURNAL]: the app's RequestJournal (api.journal).
JOURNAL = "rightsgate.journal"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; raise RuleSetInvalid if the rule set cannot be activated."""
    configure_logging()
    refuse_debug_server()
    app = ProductionFlask(__name__, static_folder=None)
    app.config.update(load_settings(config))
    reloader = RulesReloader(
        app.config["RIGHTSGATE_RULES_DIR"],
        app.config["RIGHTSGATE_LOCALES_DIR"],
        app.config["RIGHTSGATE_RELOAD_INTERVAL"],
        app.config["RIGHTSGATE_STATE_DIR"],
        ServingSettings(app.config["RIGHTSGATE_CACHE_SIZE"], app.config["RIGHTSGATE_DECISION_MAX_AGE"],
                        app.config["RIGHTSGATE_META_MAX_AGE"],
                        app.config["RIGHTSGATE_DECISION_STALE_WHILE_REVALIDATE"],
                        app.config["RIGHTSGATE_TRUSTED_GEO_HEADERS"]),
        bundle_dir=app.config["RIGHTSGATE_BUNDLE_DIR"],
        activate_failing_cases=app.config["RIGHTSGATE_ACTIVATE_FAILING_CASES"],
        archive_size=app.config["RIGHTSGATE_ARCHIVE_VERSIONS"],
    )
    app.extensions[EXTENSION] = reloader
    # Babel reads CLDR data lazily, per locale, on first use (7-52 ms); read what every
    # shipped locale needs now, before gunicorn forks, so workers share it.
    reloader.serving.preload_locales()
    spec = spec_json()
    app.extensions[OPENAPI_KEY] = CachedBody(spec, body_etag("openapi", spec))

    preflight = init_cors(app, app.config["RIGHTSGATE_CORS_ORIGINS"])

    # One hook, not one per concern: Flask looks up and wraps each hook per request.
    @app.before_request
    def _before_request() -> Response | None:
        # The watcher starts in the serving process, never in one that is about to fork
        # (gunicorn's preload master): lazily here, or from gunicorn's post_fork hook.
        reloader.ensure_running()
        check_protocol(request.environ)
        annotate(ruleset=reloader.serving.version)  # views refine it with their own
        if preflight is not None:
            answer = preflight()  # preflights before the Accept check
            if answer is not None:
                return answer
        check_accept()
        return None

    init_security_headers(app)
    register_error_handlers(app)
    register_blueprints(app)
    # Remembered decisions are answered before Flask (same bytes and headers); the rest,
    # CORS-enabled apps included, go through Flask. The journal records both for the
    # request log (and, under the server, the metrics: api/server.py adds that sink).
    journal = RequestJournal([RequestLog()])
    app.extensions[JOURNAL] = journal
    app.wsgi_app = Front(app.wsgi_app, reloader, journal,  # type: ignore[method-assign]
                         app.config["MAX_CONTENT_LENGTH"], answer_remembered=preflight is None)

    @app.cli.command("openapi")
    def openapi_command() -> None:
        """Print the OpenAPI document."""
        click.echo(spec.decode())

    @app.cli.command("check-rules")
    def check_rules_command() -> None:
        """Report the active rule set (loading it already validated it)."""
        snapshot = reloader.serving.snapshot
        click.echo(f"rules {reloader.rules_dir}: version {snapshot.version}, "
                   f"{len(snapshot.ruleset.jurisdictions)} jurisdictions, "
                   f"loaded in {snapshot.load_seconds:.2f}s")

    return app
