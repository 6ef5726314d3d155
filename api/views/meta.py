"""Reference endpoints: jurisdictions, catalog, locales; and /healthz, /openapi.json."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Hashable
from typing import Any

from flask import Blueprint, Response, current_app, request
from marshmallow import Schema

from engine.localise import SOURCE_LOCALE

from ..arguments import EmptyQuerySchema, LocaleQuerySchema, load_query
from ..etag import CachedBody, make_etag, send_cached
from ..logging import annotate
from ..negotiation import served_locale
from ..reload import Active
from ..responses import CatalogSchema, HealthSchema, JurisdictionsSchema, LocalesSchema
from . import encode, reloader

bp = Blueprint("meta", __name__)

LOCALE_QUERY = LocaleQuerySchema()
EMPTY_QUERY = EmptyQuerySchema()
VARY = ("Accept-Language",)
OPENAPI_KEY = "rightsgate.openapi"


def _reference(kind: str, schema: Schema, build: Callable[[Active, str], dict[str, Any]]) -> Response:
    """Answer a reference endpoint in the negotiated locale, from the response cache."""
    args = load_query(LOCALE_QUERY, request.args)
    active: Active = reloader().active
    tag = served_locale(active.localiser, active.languages, args.get("locale"),
                        request.headers.get("Accept-Language"))
    annotate(ruleset=active.snapshot.version, locale=tag)
    key: Hashable = (kind, tag)
    entry = active.cache.get(key)
    if entry is None:
        body = encode(schema.dump(build(active, tag)))
        entry = CachedBody(body, make_etag(active.snapshot.version, active.locales_digest, key))
        active.cache.put(key, entry)
    max_age = current_app.config["RIGHTSGATE_META_MAX_AGE"]
    # The same for everyone who asks in this language: shared caches may keep it.
    return send_cached(entry, cache_control=f"public, max-age={max_age}", vary=VARY,
                       content_language=tag)


# -- /v1/jurisdictions ---------------------------------------------------------------


def _authority(active: Active, tag: str, code: str, authority: Any) -> dict[str, Any] | None:
    if not authority:
        return None
    name = authority["name"]
    if code == "EEA":  # the only authority name that is prose rather than a proper name
        name, _ = active.localiser.text(tag, f"authority.{code}", name)
    out = {"name": name, "url": authority["url"], "legal_status": authority.get("status")}
    if authority.get("co_enforcer"):
        out["co_enforcer"] = dict(authority["co_enforcer"])
    return out


def build_jurisdictions(active: Active, tag: str) -> dict[str, Any]:
    """Return every jurisdiction with its name in locale `tag`."""
    ruleset = active.snapshot.ruleset
    entries, fallbacks = [], []
    for code, jur in ruleset.jurisdictions.items():
        name, fell_back = active.localiser.territory(tag, code, jur.name)
        entry = {
            "code": code, "name": name, "english_name": jur.name, "kind": jur.kind,
            "parent": jur.parent, "path": list(jur.path), "frameworks": list(jur.frameworks),
            "aliases": list(jur.aliases), "modelled": jur.modelled,
            "authority": _authority(active, tag, code, jur.authority),
        }
        if fell_back:
            entry["fallback_locale"] = SOURCE_LOCALE
            fallbacks.append(f"jurisdiction.{code}")
        entries.append(entry)
    return {"locale": tag, "ruleset": {"version": active.snapshot.version}, "jurisdictions": entries,
            "aliases": dict(ruleset.aliases), "fallbacks": fallbacks}


@bp.get("/v1/jurisdictions")
def jurisdictions() -> Response:
    """List every modelled jurisdiction."""
    return _reference("jurisdictions", JurisdictionsSchema(), build_jurisdictions)


# -- /v1/catalog ---------------------------------------------------------------------


def build_catalog(active: Active, tag: str) -> dict[str, Any]:
    """Return every catalogue entry with its title and text in locale `tag`."""
    entries, fallbacks = [], []
    for (kind, item_id), item in active.snapshot.ruleset.catalog.items():
        title, fb_title = active.localiser.text(tag, f"{kind}.{item_id}.title", item.title)
        text, fb_text = (active.localiser.text(tag, f"{kind}.{item_id}.text", item.text)
                         if item.text else ("", False))
        entry = {"kind": kind, "id": item_id, "title": title, "text": text,
                 "placeholders": list(item.placeholders)}
        if fb_title or fb_text:
            entry["fallback_locale"] = SOURCE_LOCALE
            fallbacks.append(f"{kind}.{item_id}")
        entries.append(entry)
    return {"locale": tag, "ruleset": {"version": active.snapshot.version}, "entries": entries,
            "fallbacks": fallbacks}


@bp.get("/v1/catalog")
def catalog() -> Response:
    """List every right, opt-out, notice, age-gate outcome and framework."""
    return _reference("catalog", CatalogSchema(), build_catalog)


# -- /v1/locales ---------------------------------------------------------------------


def build_locales(active: Active, tag: str) -> dict[str, Any]:
    """Return every shipped locale, named in itself and in locale `tag`."""
    localiser = active.localiser
    entries = [{
        "tag": shipped.tag, "native_name": shipped.native_name,
        "name": localiser.language_name(shipped.tag, tag), "completeness": shipped.completeness,
        "review_status": shipped.review_status, "source": shipped.tag == SOURCE_LOCALE,
    } for shipped in localiser.locales.values()]
    return {"locale": tag, "default": SOURCE_LOCALE, "locales": entries}


@bp.get("/v1/locales")
def locales() -> Response:
    """List the shipped languages with their completeness and review status."""
    return _reference("locales", LocalesSchema(), build_locales)


# -- /healthz ------------------------------------------------------------------------


def _utc(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


@bp.get("/healthz")
def healthz() -> Response:
    """Report the active rule set and the last refused reload."""
    load_query(EMPTY_QUERY, request.args)
    owner = reloader()
    owner.ensure_running()
    active = owner.active
    snapshot = active.snapshot
    reload_state = owner.health()
    annotate(ruleset=snapshot.version)
    body = {
        "status": "degraded" if reload_state["last_error"] else "ok",
        "pid": os.getpid(),
        "ruleset": {"version": snapshot.version, "loaded_at": _utc(snapshot.loaded_at),
                    "load_seconds": round(snapshot.load_seconds, 3), "rules_dir": str(owner.rules_dir),
                    "jurisdictions": len(snapshot.ruleset.jurisdictions)},
        "locales": len(active.localiser.locales),
        "reload": reload_state,
    }
    response = Response(encode(HealthSchema().dump(body)), mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


# -- /openapi.json -------------------------------------------------------------------


@bp.get("/openapi.json")
def openapi() -> Response:
    """Serve the OpenAPI document (generated at start-up from the schemas)."""
    load_query(EMPTY_QUERY, request.args)
    entry: CachedBody = current_app.extensions[OPENAPI_KEY]
    return send_cached(entry, cache_control="public, max-age=3600", vary=())
