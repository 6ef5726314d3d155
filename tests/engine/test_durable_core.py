"""engine.durable_core drives durable_rules' C core without durable's Python Host: it must
fire exactly what the Host fires, in the same order, and leave no state behind."""

from __future__ import annotations

import itertools

import pytest

from engine import compiler, load_snapshot
from engine.durable_core import CATCH_ALL, LOCK, NOT_STATE, CoreRuleset

from .conftest import RULES_DIR

KIND = {"kind": "class"}
_names = itertools.count()


class HostRuleset:
    """The same ruleset through durable's own Host (its documented API): actions that
    record their rule's name, as the compiler used before engine.durable_core."""

    def __init__(self, name: str, rules: dict[str, list[dict]], kind_test: dict) -> None:
        from durable import engine

        class QuietHost(engine.Host):
            def _run(self) -> None:  # no timer threads: they race with callers
                return None

        self.host, self.name, self.names = QuietHost(), name, []

        def recording(rule: str):
            return lambda _c: self.names.append(rule)

        definition = {rule: {"all": [{"m": {"$and": tests}}], "run": recording(rule)}
                      for rule, tests in rules.items()}
        definition[CATCH_ALL] = {"all": [{"m": {"$and": [NOT_STATE, kind_test]}}], "run": lambda _c: None}
        self.host.set_rulesets({name: definition})

    def fired(self, fact: dict) -> list[str]:
        self.names.clear()
        state = self.host.assert_fact(self.name, fact)
        assert not (isinstance(state, dict) and state.get("exception")), state
        self.host.delete_state(self.name, fact["sid"])
        return list(self.names)

    def delete(self) -> None:
        import durable_rules_engine

        durable_rules_engine.delete_ruleset(self.host.get_ruleset(self.name)._handle)


RULES = {
    "teen": [NOT_STATE, KIND, {"$gte": {"age": 13}}, {"$lt": {"age": 18}}],
    "adult": [NOT_STATE, KIND, {"$gte": {"age": 18}}],
    "gpc_or_school": [NOT_STATE, KIND, {"$or": [{"gpc": 1}, {"context": "school"}]}],
    "no_age": [NOT_STATE, KIND, {"$nex": {"age": 1}}],
    "in_law": [NOT_STATE, KIND, {"$ex": {"fw_ccpa": 1}}, {"$gte": {"day": 20230101}}],
}
FACTS = [
    {"kind": "class", "age": 15, "gpc": 1, "context": "school", "day": 20240101, "fw_ccpa": 1},
    {"kind": "class", "age": 40, "gpc": 0, "context": "consumer", "day": 20220101},
    {"kind": "class", "gpc": 1, "context": "consumer", "day": 20250101, "fw_ccpa": 1},
    {"kind": "class", "age": 5, "gpc": 0, "context": "consumer", "day": 20250101},  # only the catch-all
]


@pytest.fixture
def both():
    with LOCK:
        core = CoreRuleset(f"test_core_{next(_names)}", RULES, KIND)
        host = HostRuleset(f"test_host_{next(_names)}", RULES, KIND)
    yield core, host
    with LOCK:
        core.delete()
        host.delete()


def test_the_core_fires_what_durables_host_fires(both):
    core, host = both
    seen = []
    for n, fact in enumerate(FACTS):
        with LOCK:
            names = core.fired({**fact, "sid": f"c{n}"})
            assert names == host.fired({**fact, "sid": f"h{n}"})
        seen.append(names)
    # Each rule once per true branch ($or: both branches true for the first fact), the
    # catch-all never reported, a fact nothing but the catch-all matches fires nothing.
    assert sorted(seen[0]) == ["gpc_or_school", "gpc_or_school", "in_law", "teen"]
    assert seen[1] == ["adult"]
    assert sorted(seen[2]) == ["gpc_or_school", "in_law", "no_age"]
    assert seen[3] == []


def test_states_are_deleted_after_each_fact(both):
    """The core holds at most 1,024 states per ruleset (the 1,025th raises MemoryError), and
    an undeleted state makes the same sid "already seen": 2,000 facts on one sid fire alike."""
    core, _ = both
    with LOCK:
        results = {tuple(core.fired({**FACTS[1], "sid": "same"})) for _ in range(2_000)}
    assert results == {("adult",)}


def test_the_catch_all_name_is_reserved_and_a_deleted_ruleset_is_freed_once():
    with pytest.raises(ValueError, match="catch_all"):
        CoreRuleset("test_reserved", {CATCH_ALL: [NOT_STATE, KIND]}, KIND)
    with LOCK, CoreRuleset(f"test_core_{next(_names)}", RULES, KIND) as core:
        assert core.fired({**FACTS[1], "sid": "x"}) == ["adult"]
    assert core.handle is None
    core.delete()  # a second delete does nothing (the core would crash on a freed handle)


def test_compiling_the_shipped_rules_through_durables_host_gives_the_same_snapshot(snapshot, monkeypatch):
    """Every class of every place evaluated both ways fires the same rules in the same
    order, and the compiled rule set has the same version."""
    compared = []

    class Both(CoreRuleset):
        def __init__(self, name: str, rules: dict, kind_test: dict) -> None:
            super().__init__(name, rules, kind_test)
            self.host = HostRuleset(f"{name}_host", rules, kind_test)

        def fired(self, fact: dict) -> list[str]:
            names = super().fired(fact)
            assert names == self.host.fired(fact), fact["sid"]
            compared.append(fact["sid"])
            return names

        def delete(self) -> None:
            if self.handle is not None:
                self.host.delete()
            super().delete()

    monkeypatch.setattr(compiler, "CoreRuleset", Both)
    assert load_snapshot(RULES_DIR).version == snapshot.version
    assert len(compared) > 5_000
