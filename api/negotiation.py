"""Content negotiation: which language to answer in, and whether JSON is acceptable."""

from __future__ import annotations

from flask import request
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from engine.localise import Localiser

from .errors import ApiProblem

SERVED_TYPES = ("application/json", "application/problem+json")
# A browser sends a handful of languages; more is noise (or an attack on our CPU).
MAX_PREFERENCES = 12
MAX_MEMO = 4096


def language_preferences(explicit: str | None, accept_language: str | None) -> tuple[str, ...]:
    """Return the caller's languages, best first: the `locale` parameter, else Accept-Language.

    `accept_language` is the raw header value (or None); it is parsed exactly as
    werkzeug's `request.accept_languages` does.
    """
    if explicit:
        # The parameter is the application's choice for this person: it alone decides,
        # so the header a browser adds cannot override it.
        return (explicit,)
    # Werkzeug parses q-values and sorts best first; q=0 means "not this one".
    accepted = parse_accept_header(accept_language, LanguageAccept)
    return tuple(lang for lang, quality in accepted if quality > 0)[:MAX_PREFERENCES]


def served_locale(localiser: Localiser, memo: dict[tuple[str, ...], str], explicit: str | None,
                  accept_language: str | None) -> str:
    """Return the shipped locale tag to answer in (`memo` belongs to `localiser`)."""
    preferences = language_preferences(explicit, accept_language)
    tag = memo.get(preferences)
    if tag is None:
        # Negotiation costs more than the cached response it picks, and browsers send
        # few distinct headers: remember answers, within a bound.
        tag = localiser.negotiate(list(preferences))
        if len(memo) >= MAX_MEMO:
            memo.clear()
        memo[preferences] = tag
    return tag


def check_accept() -> None:
    """Refuse a request whose Accept header rules out JSON (406); run before every view."""
    # The environ key is what `"Accept" in request.headers` looks up, without its cost.
    if request.method == "OPTIONS" or "HTTP_ACCEPT" not in request.environ:
        return
    if request.accept_mimetypes.best_match(SERVED_TYPES) is None:
        raise ApiProblem("not-acceptable",
                         "This API only answers in application/json; send Accept: application/json "
                         "(or */*).")
