"""Receipts: a short content hash of each item a decision shows, so it can be proved later.

A product that records consent stores, beside the person's choice, exactly what they
were shown. Every item of a decision (the age gate, each right, opt-out and notice)
carries a `version`: a hash of the item as served, which is both its rule's effect
(rule id, every field it set, the citation, the legal status and basis) and its words
in the served language (title, text or description, the deadline in words, the
authority). So:

- the same rule and the same words give the same version, in any rule set version
  (an edit elsewhere leaves it alone);
- a text edit, a new translation or another language with other words changes it;
- two languages that show exactly the same words (a fallback to English) share it.

`fallback_locale` markers are not hashed: they say where the words came from, not
what they are. The hash is computed when a decision is rendered, which the API does
once per input class and language (api.serving's templates), never per request.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

VERSION_CHARS = 16  # hex digits: 64 bits, as short as the rule set version
NOT_HASHED = frozenset(("version", "fallback_locale"))


def _shown(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _shown(v) for k, v in value.items() if k not in NOT_HASHED}
    if isinstance(value, (list, tuple)):
        return [_shown(v) for v in value]
    return value


def item_version(kind: str, item: Mapping[str, Any]) -> str:
    """The version of a rendered item of `kind` (age_gate, right, opt_out, notice)."""
    canonical = json.dumps([kind, _shown(item)], sort_keys=True, ensure_ascii=False,
                           separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:VERSION_CHARS]


__all__ = ["VERSION_CHARS", "item_version"]
