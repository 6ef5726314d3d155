"""The few UI phrases that are not in the rule files, marked for `pybabel extract`.

The functions only mark strings (Babel's python extractor finds the calls); the
localiser translates them at render time.
"""

from __future__ import annotations


def pgettext(context: str, message: str) -> tuple[str, str]:
    """Mark `message` for extraction; return (context, message)."""
    return (context, message)


def npgettext(context: str, singular: str, plural: str) -> tuple[str, str, str]:
    """Mark a plural message for extraction; return (context, singular, plural)."""
    return (context, singular, plural)


EXTENDABLE = pgettext("duration", "{deadline}, extendable by {extension}")
BUSINESS_DAYS = npgettext("duration", "{count} business day", "{count} business days")
ACKNOWLEDGE = pgettext("duration", "acknowledged within {period}")
