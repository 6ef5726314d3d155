"""Settings: defaults, then RIGHTSGATE_* environment variables, then create_app(config).

Every setting is checked when the app is created, so a typo in the environment
stops the process at start-up with a message instead of misbehaving later.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.localise import DEFAULT_LOCALES_DIR

from .geo import trusted_geo_headers

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RULES_DIR = REPO_ROOT / "rules"
# Inside the checkout (gitignored), so nothing outside the repo is written by default.
DEFAULT_STATE_DIR = REPO_ROOT / "var" / "state"
DEFAULT_BUNDLE_DIR = REPO_ROOT / "var" / "bundles"

DEFAULTS: dict[str, Any] = {
    # The rule files to serve (a directory, or a symlink to one: swap the symlink to
    # deploy a new rule set atomically).
    "RIGHTSGATE_RULES_DIR": DEFAULT_RULES_DIR,
    "RIGHTSGATE_LOCALES_DIR": DEFAULT_LOCALES_DIR,
    # Where the last activated valid rule set is kept for every worker (and restarts).
    "RIGHTSGATE_STATE_DIR": DEFAULT_STATE_DIR,
    # Compiled rule sets keyed by content (engine.bundle): a worker, a restart or a reload
    # to a set compiled before loads it in a fraction of the compile time. "off" disables.
    "RIGHTSGATE_BUNDLE_DIR": DEFAULT_BUNDLE_DIR,
    # A rule set whose example cases (rules/cases/) fail is refused like an invalid one;
    # "on" activates it anyway (an emergency legal change that outruns its cases).
    "RIGHTSGATE_ACTIVATE_FAILING_CASES": False,
    # Activated rule set versions kept (on disk, in the state directory) for /v1/changes
    # and `version=` replays: the last N activated.
    "RIGHTSGATE_ARCHIVE_VERSIONS": 16,
    # Seconds between two looks at the rules and locales directories; 0 disables.
    "RIGHTSGATE_RELOAD_INTERVAL": 2.0,
    # Origins allowed to call the API from a browser; empty = CORS closed, "*" = any.
    "RIGHTSGATE_CORS_ORIGINS": (),
    # Serialised responses kept per active rule set.
    "RIGHTSGATE_CACHE_SIZE": 8192,
    # Cache-Control max-age (seconds) of decisions and of the reference endpoints.
    "RIGHTSGATE_DECISION_MAX_AGE": 300,
    "RIGHTSGATE_META_MAX_AGE": 300,
    # Cache-Control stale-while-revalidate (seconds) of the decisions shared caches may keep
    # (those without age or birthdate); 0 leaves it out.
    "RIGHTSGATE_DECISION_STALE_WHILE_REVALIDATE": 60,
    # The edge whose geolocation headers locate a request without `jurisdiction`
    # (cloudflare, cloudfront, vercel); off: no header is ever trusted (api.geo).
    "RIGHTSGATE_TRUSTED_GEO_HEADERS": "off",
    # 64 KiB is far more than a decision request needs and bounds what we buffer.
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "JSON_SORT_KEYS": False,
}

_ENV_KEYS = (
    "RIGHTSGATE_RULES_DIR",
    "RIGHTSGATE_LOCALES_DIR",
    "RIGHTSGATE_STATE_DIR",
    "RIGHTSGATE_BUNDLE_DIR",
    "RIGHTSGATE_ARCHIVE_VERSIONS",
    "RIGHTSGATE_RELOAD_INTERVAL",
    "RIGHTSGATE_ACTIVATE_FAILING_CASES",
    "RIGHTSGATE_CORS_ORIGINS",
    "RIGHTSGATE_CACHE_SIZE",
    "RIGHTSGATE_DECISION_MAX_AGE",
    "RIGHTSGATE_META_MAX_AGE",
    "RIGHTSGATE_DECISION_STALE_WHILE_REVALIDATE",
    "RIGHTSGATE_TRUSTED_GEO_HEADERS",
)


class ConfigError(ValueError):
    """A setting has a value the service cannot run with."""


def _number(key: str, value: Any, kind: type, minimum: float) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be a {kind.__name__}, got {value!r}") from None
    if isinstance(value, bool) or number < minimum or number != number:  # NaN
        raise ConfigError(f"{key} must be a {kind.__name__} >= {minimum}, got {value!r}")
    return number


def _switch(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("on", "true", "1", "yes"):
        return True
    if text in ("off", "false", "0", "no"):
        return False
    raise ConfigError(f"{key} must be on or off, got {value!r}")


def _origins(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value or ())
    origins = []
    for item in items:
        origin = str(item).strip().rstrip("/")
        if not origin:
            continue
        if origin != "*" and "://" not in origin:
            raise ConfigError(
                f"RIGHTSGATE_CORS_ORIGINS: {origin!r} is not an origin such as https://app.example"
            )
        origins.append(origin)
    return tuple(origins)


def load_settings(overrides: Mapping[str, Any] | None = None,
                  environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Merge defaults, environment and `overrides`; validate and normalise them."""
    env = os.environ if environ is None else environ
    settings = dict(DEFAULTS)
    settings.update({key: env[key] for key in _ENV_KEYS if env.get(key, "").strip()})
    settings.update(overrides or {})
    settings["RIGHTSGATE_RULES_DIR"] = Path(settings["RIGHTSGATE_RULES_DIR"])
    settings["RIGHTSGATE_LOCALES_DIR"] = Path(settings["RIGHTSGATE_LOCALES_DIR"])
    settings["RIGHTSGATE_STATE_DIR"] = Path(settings["RIGHTSGATE_STATE_DIR"])
    bundles = settings["RIGHTSGATE_BUNDLE_DIR"]
    settings["RIGHTSGATE_BUNDLE_DIR"] = (
        None if bundles is None or str(bundles).strip().lower() == "off" else Path(bundles))
    settings["RIGHTSGATE_RELOAD_INTERVAL"] = _number(
        "RIGHTSGATE_RELOAD_INTERVAL", settings["RIGHTSGATE_RELOAD_INTERVAL"], float, 0)
    for key in ("RIGHTSGATE_CACHE_SIZE", "RIGHTSGATE_DECISION_MAX_AGE", "RIGHTSGATE_META_MAX_AGE",
                "RIGHTSGATE_DECISION_STALE_WHILE_REVALIDATE", "MAX_CONTENT_LENGTH"):
        settings[key] = _number(key, settings[key], int, 0)
    # At least the current set (which is always answerable).
    settings["RIGHTSGATE_ARCHIVE_VERSIONS"] = _number(
        "RIGHTSGATE_ARCHIVE_VERSIONS", settings["RIGHTSGATE_ARCHIVE_VERSIONS"], int, 1)
    settings["RIGHTSGATE_ACTIVATE_FAILING_CASES"] = _switch(
        "RIGHTSGATE_ACTIVATE_FAILING_CASES", settings["RIGHTSGATE_ACTIVATE_FAILING_CASES"])
    geo = settings["RIGHTSGATE_TRUSTED_GEO_HEADERS"]
    if geo is None or isinstance(geo, str):  # a GeoHeaders passed in by a caller is kept
        try:
            settings["RIGHTSGATE_TRUSTED_GEO_HEADERS"] = trusted_geo_headers(geo)
        except ValueError as error:
            raise ConfigError(f"RIGHTSGATE_TRUSTED_GEO_HEADERS: {error}") from None
    settings["RIGHTSGATE_CORS_ORIGINS"] = _origins(settings["RIGHTSGATE_CORS_ORIGINS"])
    # Never debug: the werkzeug debugger is a remote shell and tracebacks leak internals.
    settings["DEBUG"] = False
    settings["PROPAGATE_EXCEPTIONS"] = False
    return settings
