"""Did-you-mean suggestions for misspelt ids, codes and keys."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(value: object, choices: Iterable[str]) -> str | None:
    """Return "did you mean 'x'?" for the closest choice, or None."""
    text = str(value)
    options = sorted(set(choices))
    by_lower = {c.lower(): c for c in options}
    if text.lower() in by_lower and by_lower[text.lower()] != text:
        return f"did you mean '{by_lower[text.lower()]}'?"
    close = difflib.get_close_matches(text, options, n=1, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(text.lower(), list(by_lower), n=1, cutoff=0.6)
        close = [by_lower[c] for c in close]
    return f"did you mean '{close[0]}'?" if close else None
