"""Content negotiation: which languages the caller asks for, and whether JSON is acceptable.

Which shipped locale answers them is the Serving's business (it remembers the
answers per localiser); this module only reads the headers, within a bound.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import current_app, request
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from .errors import ApiProblem

SERVED_TYPES = ("application/json", "application/problem+json")
View = TypeVar("View", bound=Callable)
# A browser sends a handful of languages; more is noise (or an attack on our CPU).
MAX_PREFERENCES = 12
# Only this much of Accept-Language is parsed (a browser's header is well under 100
# bytes): an 8 KB header costs the same as a short one.
MAX_ACCEPT_LANGUAGE = 256


def language_preferences(explicit: str | None, accept_language: str | None) -> tuple[str, ...]:
    """Return the caller's languages, best first: the `locale` parameter, else Accept-Language.

    `accept_language` is the raw header value (or None); its first MAX_ACCEPT_LANGUAGE
    bytes (cut at a comma) are parsed exactly as werkzeug's `request.accept_languages` does.
    """
    if explicit:
        # The parameter is the application's choice for this person: it alone decides,
        # so the header a browser adds cannot override it.
        return (explicit,)
    if accept_language and len(accept_language) > MAX_ACCEPT_LANGUAGE:
        head = accept_language[:MAX_ACCEPT_LANGUAGE]
        accept_language = head[:head.rfind(",")] if "," in head else head
    # Werkzeug parses q-values and sorts best first; q=0 means "not this one".
    accepted = parse_accept_header(accept_language, LanguageAccept)
    return tuple(lang for lang, quality in accepted if quality > 0)[:MAX_PREFERENCES]


def serves(*types: str) -> Callable[[View], View]:
    """Mark a view that answers in other types than JSON (the component's script)."""
    def mark(view: View) -> View:
        view.served_types = types  # type: ignore[attr-defined]
        return view
    return mark


def check_accept() -> None:
    """Refuse a request whose Accept header rules out what its view answers (406); run
    before every view. Views answer JSON unless marked with `serves`."""
    # The environ key is what `"Accept" in request.headers` looks up, without its cost.
    if request.method == "OPTIONS" or "HTTP_ACCEPT" not in request.environ:
        return
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    served = getattr(view, "served_types", SERVED_TYPES)
    if request.accept_mimetypes.best_match(served) is None:
        raise ApiProblem("not-acceptable",
                         f"This resource only answers in {served[0]}; send Accept: {served[0]} (or */*).")
