"""The kinds of problem the API answers with: their `type` URIs, statuses and meaning."""

from __future__ import annotations

from dataclasses import dataclass

PROBLEM_BASE = "https://rightsgate.dev/problems/"


@dataclass(frozen=True)
class ProblemType:
    slug: str
    status: int
    title: str
    description: str

    @property
    def uri(self) -> str:
        return PROBLEM_BASE + self.slug


PROBLEM_TYPES: dict[str, ProblemType] = {p.slug: p for p in (
    ProblemType("validation", 422, "Invalid request",
                "A parameter or body member is missing its type, out of range, unknown, repeated or "
                "inconsistent with another; `errors` names each one."),
    ProblemType("malformed-body", 400, "Malformed request body",
                "The POST body is not a single JSON object in UTF-8 (syntax error, array, scalar, "
                "empty body, NaN/Infinity, nesting too deep), or its chunked encoding is broken."),
    ProblemType("bad-request", 400, "Bad request",
                "The HTTP request itself could not be understood."),
    ProblemType("not-found", 404, "Not found", "No endpoint has this path."),
    ProblemType("method-not-allowed", 405, "Method not allowed",
                "The endpoint exists but not for this method; the Allow header lists those it takes."),
    ProblemType("not-acceptable", 406, "Not acceptable",
                "The Accept header excludes application/json, the only format served."),
    ProblemType("precondition-failed", 412, "Precondition failed",
                "If-None-Match matched on a POST (RFC 9110 §13.1.2)."),
    ProblemType("content-too-large", 413, "Content too large",
                "The request body is larger than the limit (64 KiB by default)."),
    ProblemType("unsupported-media-type", 415, "Unsupported media type",
                "POST bodies must be sent as Content-Type: application/json (UTF-8)."),
    ProblemType("internal", 500, "Internal server error",
                "Something failed on our side; it has been logged. Nothing you sent can cause it."),
)}
