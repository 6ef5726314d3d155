"""The realistic request mix, shared by the in-process and the HTTP benchmarks.

For every jurisdiction of a Snapshot: no age, an adult, and the ages on both sides of
every age threshold that jurisdiction's rules name (some sent as a birthdate), each
with GPC off and on (as the `gpc` field or the `Sec-GPC: 1` header). Places are
spelled as clients do (upper and lower case, aliases such as UK, EL, EU,
California, subdivisions and countries that are not modelled). Languages come from
browser-like Accept-Language headers (one unshipped), sometimes overridden by a
`locale` field; some requests name an `as_of` on either side of a date boundary.
The order is shuffled with a fixed seed, so every run sends the same requests.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from engine import Snapshot

ACCEPT_LANGUAGES = (
    "en-US,en;q=0.9",
    "de-DE,de;q=0.9,en;q=0.8",
    "fr-CA,fr;q=0.9,en-US;q=0.8,en;q=0.7",
    "es-ES,es;q=0.9",
    "pl-PL,pl;q=0.9,en-US;q=0.8,en;q=0.7",
    "ja-JP,ja;q=0.9,en;q=0.5",  # not shipped: English
    "nl",
    "it-IT,it;q=0.9,en;q=0.6",
    "pt-BR,pt;q=0.9",
)
LOCALE_FIELDS = ("de", "fr-CA", "sv", "el", "en")
# Spellings a client may send for a place, beyond its code in upper and lower case.
EXTRA_SPELLINGS = {
    "DEFAULT": (None, "BR", "JP", "IN", "AU", "ZA"),
    "US": ("US-TX", "US-NY"),
    "DE": ("DE-BY",),
    "CA": ("CA-ON",),
    "FR": ("fr",),
}
SEED = 20261122


@dataclass(frozen=True)
class Request:
    """One decision request, sendable as GET (query) or POST (JSON body)."""

    fields: tuple[tuple[str, Any], ...]  # typed values: age int, gpc bool, the rest str
    headers: tuple[tuple[str, str], ...]
    label: str  # e.g. "AT age 13 gpc=header" (for reports)

    def query_items(self) -> list[tuple[str, str]]:
        """The fields as query parameters (text)."""
        out = []
        for index, (name, value) in enumerate(self.fields):
            if isinstance(value, bool):
                value = ("true" if value else "false") if index % 2 else ("1" if value else "0")
            out.append((name, str(value)))
        return out

    def query_string(self) -> bytes:
        """The raw query string, as `request.query_string` holds it."""
        return urlencode(self.query_items()).encode("ascii")

    def path(self) -> str:
        """The GET path with its query string."""
        query = self.query_string().decode("ascii")
        return "/v1/decision" + ("?" + query if query else "")

    def body(self) -> bytes:
        """The POST body, as a signup backend would send it."""
        return json.dumps(dict(self.fields), separators=(",", ":")).encode()

    def header_dict(self) -> dict[str, str]:
        """The request headers that matter to a decision."""
        return dict(self.headers)


def _birthdate(age: int, on: date) -> str:
    """A birthdate that makes someone `age` on `on` (their birthday 40 days before)."""
    day = on - timedelta(days=40)
    return day.replace(year=day.year - age, day=min(day.day, 28)).isoformat()


def spellings(snapshot: Snapshot, code: str) -> list[str | None]:
    """How clients may name `code`: as is, lower case, its aliases, and extra forms."""
    aliases = [alias for alias, target in snapshot.ruleset.aliases.items() if target == code]
    pretty = {"CALIFORNIA": "California"}
    names: list[str | None] = [] if code == "DEFAULT" else [code, code.lower()]
    names += [pretty.get(a, a) for a in aliases]
    names += list(EXTRA_SPELLINGS.get(code, ()))
    return names or [None]


def build_mix(snapshot: Snapshot, limit: int | None = None, seed: int = SEED,
              today: date | None = None) -> list[Request]:
    """Return the request mix for `snapshot` (a seeded sample of `limit` if given)."""
    today = today or date.today()
    requests: list[Request] = []
    counter = 0
    for code in sorted(snapshot.tables):
        table = snapshot.tables[code]
        names = spellings(snapshot, code)
        thresholds = [a for a in table.axes.age_starts if a > 0]
        ages: list[int | None] = [None, 30, *sorted({t - 1 for t in thresholds} | set(thresholds))]
        boundaries = list(table.axes.day_starts[1:])
        for age in ages:
            for gpc in ("off", "header", "field"):
                if gpc == "header" and counter % 2:
                    continue  # GPC on: half by header, half by field
                if gpc == "field" and not counter % 2:
                    continue
                counter += 1
                fields: list[tuple[str, Any]] = []
                name = names[counter % len(names)]
                if name is not None:
                    fields.append(("jurisdiction", name))
                as_of = None
                if counter % 6 == 0:
                    if boundaries:
                        edge = boundaries[(counter // 6) % len(boundaries)]
                        as_of = edge - timedelta(days=(counter // 12) % 2)
                    else:
                        as_of = date(2026, 1, 1)
                if age is not None:
                    if counter % 4 == 0:
                        fields.append(("birthdate", _birthdate(age, as_of or today)))
                    else:
                        fields.append(("age", age))
                if gpc == "field":
                    fields.append(("gpc", True))
                if counter % 5 == 0:
                    fields.append(("locale", LOCALE_FIELDS[(counter // 5) % len(LOCALE_FIELDS)]))
                if as_of is not None:
                    fields.append(("as_of", as_of.isoformat()))
                headers = [("Accept-Language", ACCEPT_LANGUAGES[counter % len(ACCEPT_LANGUAGES)])]
                if gpc == "header":
                    headers.append(("Sec-GPC", "1"))
                label = f"{name or '-'} age={age} gpc={gpc}" + (f" as_of={as_of}" if as_of else "")
                requests.append(Request(tuple(fields), tuple(headers), label))
    rng = random.Random(seed)
    rng.shuffle(requests)
    if limit is not None and len(requests) > limit:
        requests = rng.sample(requests, limit)
    return requests


def describe(mix: list[Request], snapshot: Snapshot) -> dict[str, int]:
    """Counts that say what the mix covers (for the report)."""
    keys = [dict(r.fields) for r in mix]
    return {
        "requests": len(mix),
        "jurisdictions_resolved": len({snapshot.resolve(k.get("jurisdiction")).code for k in keys}),
        "jurisdictions_modelled": len(snapshot.tables),
        "spellings": len({k.get("jurisdiction") for k in keys}),
        "with_age": sum("age" in k for k in keys),
        "with_birthdate": sum("birthdate" in k for k in keys),
        "no_age": sum("age" not in k and "birthdate" not in k for k in keys),
        "gpc_on": sum(k.get("gpc") is True or ("Sec-GPC", "1") in r.headers
                      for k, r in zip(keys, mix, strict=True)),
        "locale_field": sum("locale" in k for k in keys),
        "as_of": sum("as_of" in k for k in keys),
    }
