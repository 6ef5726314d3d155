"""Babel extractor for rule files: `pybabel extract -F babel.cfg` uses it.

It yields every English title and text of catalog.yaml, and the names of
jurisdictions that CLDR does not name (regions, subdivisions, DEFAULT), each with a
message context such as ``right.access.title`` so equal English words used for
different things can be translated differently.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

import yaml

from .loader import CATALOG_SECTIONS

# Territory codes CLDR names; others need a translation of their own.
CLDR_NAMED_KINDS = ("country",)


def catalog_messages(data: dict) -> Iterator[tuple[str, str]]:
    """Yield (context, English text) for every catalogue entry."""
    for section, kind in CATALOG_SECTIONS.items():
        for item_id, item in (data.get(section) or {}).items():
            yield f"{kind}.{item_id}.title", item["title"]
            yield f"{kind}.{item_id}.text", item["text"]
    for item_id, item in (data.get("wordings") or {}).items():
        yield f"wording.{item_id}.title", item["title"]
        yield f"wording.{item_id}.text", item["text"]
    for fw_id, item in (data.get("frameworks") or {}).items():
        yield f"framework.{fw_id}.title", item["title"]


def jurisdiction_messages(data: dict) -> Iterator[tuple[str, str]]:
    """Yield (context, English name) for jurisdictions CLDR cannot name."""
    for code, entry in (data.get("jurisdictions") or {}).items():
        if entry.get("kind", "country") not in CLDR_NAMED_KINDS:
            yield f"jurisdiction.{code}", entry["name"]
        authority = entry.get("authority") or {}
        if code == "EEA" and authority.get("name"):
            yield f"authority.{code}", authority["name"]


def _line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return 1


def extract_rules(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: dict
) -> Iterator[tuple[int, str, tuple[str, str], list[str]]]:
    """Babel extractor entry point (see babel.messages.extract)."""
    text = fileobj.read().decode("utf-8")
    data = yaml.safe_load(text) or {}
    if "jurisdictions" in data:
        messages = jurisdiction_messages(data)
    else:
        messages = catalog_messages(data)
    for context, message in messages:
        yield _line_of(text, message[:40]), "pgettext", (context, message), [context]
