"""The drop-in web component `<rightsgate-panel>`: one plain JavaScript file, content-addressed.

The file (api/static/rightsgate-panel.js: no framework, no build step, no dependency) is
read once when the app is created. It is served under a name that holds a digest of its
bytes, `/v1/component/rightsgate-panel.<digest>.js`, so a URL always means the same bytes
and browsers and CDNs may keep it for a year (`immutable`); its Subresource Integrity
hash (`sha384-...`) is published at `/v1/component` with that URL, so a page can pin
exactly what it runs with `<script integrity=... crossorigin=anonymous>`. The unversioned
name redirects to the current file, for pages that accept whatever is current (they
cannot pin its integrity then).

Only the current file is served: after an upgrade the previous digest answers 404, so a
page that pins a version either updates its embed from `/v1/component` or hosts the file
itself (it is self-contained). The digest is part of the route, and so of the OpenAPI
document (api.spec), which lists every path the API serves.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ELEMENT = "rightsgate-panel"
SOURCE = Path(__file__).resolve().parent / "static" / f"{ELEMENT}.js"
BASE_PATH = "/v1/component"
UNVERSIONED_PATH = f"{BASE_PATH}/{ELEMENT}.js"
JS_MIMETYPE = "text/javascript"
# What a browser may be asked for when it fetches the file: a script (`*/*`), or JS by name.
JS_TYPES = (JS_MIMETYPE, "application/javascript", "application/problem+json")
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class ComponentAsset:
    """The component's bytes and the names and hashes derived from them."""

    body: bytes
    digest: str  # 16 hex digits of SHA-256: the version in the file name
    integrity: str  # the Subresource Integrity value (sha384, base64)

    @property
    def filename(self) -> str:
        return f"{ELEMENT}.{self.digest}.js"

    @property
    def path(self) -> str:
        """The versioned URL path (relative to the API's origin)."""
        return f"{BASE_PATH}/{self.filename}"

    @property
    def etag(self) -> str:
        return f"component-{self.digest}"

    def manifest(self) -> dict[str, object]:
        """What `GET /v1/component` answers: where the file is and how to pin it."""
        return {"element": ELEMENT, "version": self.digest, "url": self.path, "integrity": self.integrity,
                "unversioned_url": UNVERSIONED_PATH, "bytes": len(self.body)}


def asset_from_bytes(body: bytes) -> ComponentAsset:
    """The asset for `body`: its digest (file name) and SRI hash."""
    integrity = "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode("ascii")
    return ComponentAsset(body, hashlib.sha256(body).hexdigest()[:16], integrity)


@cache
def load_component(source: Path = SOURCE) -> ComponentAsset:
    """Read the component file once per process (the app and the OpenAPI document share it)."""
    return asset_from_bytes(source.read_bytes())


__all__ = ["BASE_PATH", "ELEMENT", "IMMUTABLE", "JS_MIMETYPE", "JS_TYPES", "SOURCE", "UNVERSIONED_PATH",
           "ComponentAsset", "asset_from_bytes", "load_component"]
