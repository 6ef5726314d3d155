"""rightsgate's rule engine: load rule files, compile them once, serve lookups.

    snapshot = load_snapshot("rules")
    decision = snapshot.decide(snapshot.resolve("AT").code, age=13, gpc=False, as_of=today)
"""

from .bundle import BundleStore
from .errors import RuleProblem, RuleSetInvalid
from .jurisdictions import InvalidJurisdiction, Resolution
from .loader import load_rules
from .snapshot import DateNotModelled, Snapshot, build_snapshot, load_snapshot

__all__ = [
    "BundleStore",
    "DateNotModelled",
    "InvalidJurisdiction",
    "Resolution",
    "RuleProblem",
    "RuleSetInvalid",
    "Snapshot",
    "build_snapshot",
    "load_rules",
    "load_snapshot",
]
