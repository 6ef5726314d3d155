"""GET /v1/changes: what changed for whom between two rule set versions (api.changes)."""

from __future__ import annotations

from flask import Blueprint, Response, request

from ..arguments import ChangesQuerySchema, load_query
from ..etag import send_cached
from ..logging import annotate
from . import reloader

bp = Blueprint("changes", __name__, url_prefix="/v1")

CHANGES_QUERY = ChangesQuerySchema()


@bp.get("/changes")
def changes() -> Response:
    """Compare two rule set versions this service activated, in plain sentences."""
    args = load_query(CHANGES_QUERY, request.args)
    owner = reloader()
    serving = owner.serving
    answer = owner.changes.answer(args["since"], args.get("until"), serving)
    annotate(ruleset=serving.version)
    # A pair's comparison never changes; without `until` it follows the current set, so
    # it is kept no longer than the reference bodies.
    return send_cached(answer, cache_control=f"public, max-age={serving.settings.meta_max_age}")
