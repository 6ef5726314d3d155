"""The drop-in component: its manifest, its versioned script, and the unversioned name.

The script is public code a page on any origin loads with `integrity=` and
`crossorigin="anonymous"`; a browser only checks the integrity of a cross-origin script
read with CORS, so the script (and the redirect to it) is open to every origin whatever
RIGHTSGATE_CORS_ORIGINS says. It carries no personal data and sends no credentials.
The decisions the component then fetches stay behind the CORS allow-list.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from ..arguments import EmptyQuerySchema, load_query
from ..component import IMMUTABLE, JS_MIMETYPE, JS_TYPES, UNVERSIONED_PATH, ComponentAsset
from ..etag import CachedBody, body_etag, send_cached
from ..negotiation import serves
from ..responses import ComponentManifestSchema
from ..serving import encode

EMPTY_QUERY = EmptyQuerySchema()
MANIFEST_SCHEMA = ComponentManifestSchema()
# Public code: any page may run it, and must be able to check its integrity (CORS read).
OPEN_TO_EVERY_ORIGIN = {"Access-Control-Allow-Origin": "*", "Cross-Origin-Resource-Policy": "cross-origin"}


def component_blueprint(asset: ComponentAsset) -> Blueprint:
    """The routes of `asset` (its versioned path holds its digest)."""
    bp = Blueprint("component", __name__)
    manifest = encode(MANIFEST_SCHEMA.dump(asset.manifest()))
    manifest_entry = CachedBody(manifest, body_etag("component-manifest", manifest))
    script_entry = CachedBody(asset.body, asset.etag)

    @bp.get("/v1/component")
    def component_manifest() -> Response:
        """Where the current component file is, with its integrity hash."""
        load_query(EMPTY_QUERY, request.args)
        return send_cached(manifest_entry,
                           cache_control=f"public, max-age={current_app.config['RIGHTSGATE_META_MAX_AGE']}")

    @bp.get(asset.path, endpoint="component_script")
    @serves(*JS_TYPES)
    def component_script() -> Response:
        """The component file itself; its name changes with every change of its bytes."""
        load_query(EMPTY_QUERY, request.args)
        response = send_cached(script_entry, cache_control=IMMUTABLE, mimetype=JS_MIMETYPE)
        response.headers.update(OPEN_TO_EVERY_ORIGIN)
        return response

    @bp.get(UNVERSIONED_PATH, endpoint="component_latest")
    @serves(*JS_TYPES)
    def component_latest() -> Response:
        """Redirect to the current versioned file."""
        load_query(EMPTY_QUERY, request.args)
        response = Response(status=302, headers={
            "Location": asset.path,
            "Cache-Control": f"public, max-age={current_app.config['RIGHTSGATE_META_MAX_AGE']}",
            **OPEN_TO_EVERY_ORIGIN})
        response.headers.pop("Content-Type", None)
        return response

    return bp


__all__ = ["component_blueprint"]
