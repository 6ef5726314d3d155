"""Reference endpoints: jurisdictions, catalog, locales, ui-strings; and /healthz, /openapi.json."""

from __future__ import annotations

import os

from flask import Blueprint, Response, current_app, request

from ..arguments import EmptyQuerySchema, LocaleQuerySchema, load_query
from ..etag import CachedBody, send_cached
from ..logging import annotate
from ..reload import utc_iso
from ..responses import HealthSchema
from ..serving import encode
from . import current_serving, reloader, respond

bp = Blueprint("meta", __name__)

LOCALE_QUERY = LocaleQuerySchema()
EMPTY_QUERY = EmptyQuerySchema()
HEALTH_SCHEMA = HealthSchema()
OPENAPI_KEY = "rightsgate.openapi"


def _reference(kind: str) -> Response:
    args = load_query(LOCALE_QUERY, request.args)
    return respond(current_serving().reference(kind, args.get("locale"),
                                               request.headers.get("Accept-Language")))


@bp.get("/v1/jurisdictions")
def jurisdictions() -> Response:
    """List every modelled jurisdiction."""
    return _reference("jurisdictions")


@bp.get("/v1/catalog")
def catalog() -> Response:
    """List every right, opt-out, notice, age-gate outcome and framework."""
    return _reference("catalog")


@bp.get("/v1/locales")
def locales() -> Response:
    """List the shipped languages with their completeness and review status."""
    return _reference("locales")


@bp.get("/v1/ui-strings")
def ui_strings() -> Response:
    """The drop-in component's own words (buttons, headings, states) in the negotiated language."""
    return _reference("ui_strings")


# -- /healthz ------------------------------------------------------------------------


@bp.get("/healthz")
def healthz() -> Response:
    """Report the active rule set, the files it was built from, and the last refused reload."""
    load_query(EMPTY_QUERY, request.args)
    owner = reloader()
    owner.ensure_running()
    serving = owner.serving
    snapshot = serving.snapshot
    reload_state = owner.health()
    annotate(ruleset=snapshot.version)
    # Relative names and digests only: an absolute path tells a stranger how the host is laid out.
    body = {
        "status": "degraded" if reload_state["last_error"] else "ok",
        "pid": os.getpid(),
        "ruleset": {"version": snapshot.version, "loaded_at": utc_iso(snapshot.loaded_at),
                    "load_seconds": round(snapshot.load_seconds, 3),
                    "jurisdictions": len(snapshot.ruleset.jurisdictions),
                    "origin": serving.rules.origin,
                    "files": [{"name": name, "sha256": digest} for name, digest in serving.rules.files]},
        "locales": len(serving.localiser.locales),
        "reload": reload_state,
    }
    response = Response(encode(HEALTH_SCHEMA.dump(body)), mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


# -- /openapi.json -------------------------------------------------------------------


@bp.get("/openapi.json")
def openapi() -> Response:
    """Serve the OpenAPI document (generated at start-up from the schemas)."""
    load_query(EMPTY_QUERY, request.args)
    entry: CachedBody = current_app.extensions[OPENAPI_KEY]
    return send_cached(entry, cache_control="public, max-age=3600")
