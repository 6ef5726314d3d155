"""GET and POST /v1/decision: what applies to this person, here and now.

The views read what the request carries (the trusted edge's geolocation headers
included, when the operator names an edge: api.geo) and hand it to the current Serving
(api.serving), which owns parsing, validation, the caches and the rendering.
"""

from __future__ import annotations

from flask import Blueprint, Request, Response, request
from werkzeug.datastructures import MultiDict

from ..arguments import check_json_request, read_body
from ..errors import FieldError, validation_problem
from ..serving import BODY, QUERY
from . import current_serving, respond

bp = Blueprint("decision", __name__, url_prefix="/v1")


@bp.get("/decision")
def get_decision() -> Response:
    """Decide from query parameters."""
    headers = request.headers
    serving = current_serving()
    query = request.query_string
    return respond(serving.decide_query(query, headers.get("Sec-GPC"), headers.get("Accept-Language"),
                                        _request_args, serving.edge_input(QUERY, query, request.environ)))


@bp.post("/decision")
def post_decision() -> Response:
    """Decide from a JSON object body."""
    # The request object once, not through the context-local proxy at every use.
    req: Request = request._get_current_object()  # type: ignore[attr-defined]
    if req.args:
        # A parameter in the URL of a POST would be silently ignored; say so instead.
        raise validation_problem([FieldError(key, "query", "not read on POST; put it in the JSON body")
                                  for key in req.args])
    check_json_request(req.mimetype, req.mimetype_params, req.headers.get("Content-Encoding"))
    raw = read_body(req.environ, req.content_length, req.max_content_length, req.get_data)
    headers = req.headers
    serving = current_serving()
    return respond(serving.decide_body(raw, headers.get("Sec-GPC"), headers.get("Accept-Language"),
                                       serving.edge_input(BODY, raw, req.environ)))


def _request_args() -> MultiDict:
    return request.args
