"""Where is the person: a jurisdiction from a trusted edge's geolocation headers.

A request that names no `jurisdiction` may be located by the CDN or edge in front of the
service, which adds the visitor's country and first-level region as request headers.
Those headers are only as trustworthy as the path they came by: a client talking to the
service directly can send any of them. So none is read unless the operator names the one
edge in front (`RIGHTSGATE_TRUSTED_GEO_HEADERS`), and then only that edge's pair:

| edge | country header | region header (ISO 3166-2 suffix: `CA` for US-CA) |
|---|---|---|
| cloudflare | `CF-IPCountry` | `CF-Region-Code` (Cloudflare's "visitor location headers") |
| cloudfront | `CloudFront-Viewer-Country` | `CloudFront-Viewer-Country-Region` |
| vercel | `X-Vercel-IP-Country` | `X-Vercel-IP-Country-Region` |

Country and region become `CC-RR` and are resolved like a `jurisdiction` someone sent:
a modelled subdivision answers for itself (US + CA -> US-CA, CA + QC -> CA-QC), any other
falls back to its country (CA + ON -> CA), a territory to its state (PR -> US). The answer
says `matched: edge_header` and `requested: null`, and varies on the two headers.

Unlocated requests are refused rather than guessed: no country header, Cloudflare's `XX`
(unknown) or `T1` (Tor), or a value that is not a code get a 422 naming `jurisdiction`
(the caller should ask the person), never the DEFAULT regime silently. This module only
reads headers; api.serving turns `Unlocated` into that problem.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MATCHED = "edge_header"
COUNTRY_RE = re.compile(r"^[A-Za-z]{2}$")
REGION_RE = re.compile(r"^[A-Za-z0-9]{1,3}$")
# Country values an edge sends when it could not place the visitor.
UNLOCATED = {"XX": "unknown location", "T1": "a Tor exit node"}
OFF = ("", "off", "none")


@dataclass(frozen=True, slots=True)
class GeoHeaders:
    """One edge's pair of geolocation request headers."""

    edge: str
    country: str  # header names, as the edge documents them
    region: str
    country_key: str  # their WSGI environ keys (HTTP_CF_IPCOUNTRY, ...)
    region_key: str

    @classmethod
    def of(cls, edge: str, country: str, region: str) -> GeoHeaders:
        """The pair for `edge`, with its environ keys."""
        return cls(edge, country, region, _environ_key(country), _environ_key(region))

    @property
    def vary(self) -> str:
        """The header names for `Vary` of an answer located by them."""
        return f"{self.country}, {self.region}"

    def read(self, environ: Mapping[str, Any]) -> tuple[str | None, str | None]:
        """The raw (country, region) values a request carries (None: header absent)."""
        return environ.get(self.country_key), environ.get(self.region_key)


def _environ_key(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


EDGES: dict[str, GeoHeaders] = {
    "cloudflare": GeoHeaders.of("cloudflare", "CF-IPCountry", "CF-Region-Code"),
    "cloudfront": GeoHeaders.of("cloudfront", "CloudFront-Viewer-Country",
                                "CloudFront-Viewer-Country-Region"),
    "vercel": GeoHeaders.of("vercel", "X-Vercel-IP-Country", "X-Vercel-IP-Country-Region"),
}


def trusted_geo_headers(value: str | None) -> GeoHeaders | None:
    """The GeoHeaders a setting value names (None: off); ValueError for an unknown edge."""
    name = (value or "").strip().lower()
    if name in OFF:
        return None
    if name not in EDGES:
        raise ValueError(f"{value!r} is not one of: off, {', '.join(EDGES)}")
    return EDGES[name]


class Unlocated(ValueError):
    """The edge's headers do not place the request; the answer is a 422 naming `jurisdiction`.

    `why` completes "jurisdiction is missing, and ..."; `header` names a header whose
    value is malformed (its own error), or is None.
    """

    def __init__(self, why: str, header: str | None = None, problem: str | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.header = header
        self.problem = problem


def edge_jurisdiction(geo: GeoHeaders, country: str | None, region: str | None) -> str:
    """The jurisdiction text (`US-CA`, `DE`) the edge's header values give; raise Unlocated if none."""
    country = (country or "").strip()
    region = (region or "").strip()
    if not country:
        raise Unlocated(f"the request carries no {geo.country} header from the trusted edge ({geo.edge})")
    code = country.upper()
    if code in UNLOCATED:
        raise Unlocated(f"the edge could not locate the request ({geo.country}: {code}, {UNLOCATED[code]})")
    if not COUNTRY_RE.match(country):
        # The value itself is not repeated: it is whatever reached us, and may be anything.
        raise Unlocated(f"the edge's {geo.country} header is not a country code", geo.country,
                        "not an ISO 3166-1 alpha-2 country code")
    if not region:
        return code
    if region.upper().startswith(code + "-"):  # some edges send the whole ISO 3166-2 code
        region = region[len(code) + 1:]
    if not REGION_RE.match(region):
        raise Unlocated(f"the edge's {geo.region} header is not a subdivision code", geo.region,
                        "not the subdivision part of an ISO 3166-2 code (CA for US-CA)")
    return f"{code}-{region.upper()}"


__all__ = ["EDGES", "MATCHED", "GeoHeaders", "Unlocated", "edge_jurisdiction", "trusted_geo_headers"]
