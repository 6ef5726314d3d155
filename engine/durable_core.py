"""durable_rules' C core, driven directly: a ruleset, a fact asserted, the rules it fired.

durable's Python `Host` wraps every fired action in a `Closure`, parses the state and
message JSON, runs the action through a `Promise` and writes the state back (`json.dumps`)
before it asks the core for the next action: ~25 µs of Python per fired action, most of
what a compile cost (docs/durable-rules.md). The compiler's actions only recorded which
rules fired and never changed the state, so `CoreRuleset` calls the same C functions the
Host calls, in the same order (`assert_fact`, `start_action_for_state`,
`complete_and_start_action`, `delete_state`), reads each fired rule's name from the head
of its message, and skips the rest. The matching is durable_rules' own;
tests/engine/test_durable_core.py checks that it fires what durable's Host fires.

The core keeps global state and never releases the GIL: callers hold `LOCK`.
"""

from __future__ import annotations

import json
import threading
from types import TracebackType
from typing import Any

LOCK = threading.Lock()
CATCH_ALL = "catch_all"
# Every condition is ANDed with "not the engine's own state fact": the core re-asserts the
# state after each action, and a condition it satisfies would fire forever.
NOT_STATE: dict = {"$nex": {"$s": 1}}
_MESSAGE_HEAD = len('{"')  # a message is {"<rule name>":{...}}; our names hold no quote


class CoreRuleset:
    """One durable_rules ruleset in the C core: `rules` maps a rule name to the AND-list of
    its tests; a catch-all rule is added (see `fired`). Delete it when done (`with`)."""

    def __init__(self, name: str, rules: dict[str, list[dict]], kind_test: dict) -> None:
        import durable_rules_engine

        self._core = durable_rules_engine
        if CATCH_ALL in rules:
            raise ValueError(f"{CATCH_ALL!r} is the catch-all rule's name")
        definition = {rule: {"all": [{"m": {"$and": tests}}]} for rule, tests in rules.items()}
        # Asserting a fact no rule matches raises, and deleting its state afterwards can
        # crash the core (uninitialised pointers): a rule that matches every fact of the
        # kind we assert avoids both. Its firing is not reported.
        definition[CATCH_ALL] = {"all": [{"m": {"$and": [NOT_STATE, kind_test]}}]}
        self.handle: int | None = durable_rules_engine.create_ruleset(name, json.dumps(definition))

    def fired(self, fact: dict[str, Any]) -> list[str]:
        """Assert `fact` (it must carry the `sid` of a state no other fact uses), return the
        names of the rules it fired in the core's order (a rule with `$or` once per true
        branch), and delete its state again (the core holds at most 1,024)."""
        core = self._core
        handle = self.handle
        result, state = core.assert_fact(handle, json.dumps(fact))
        if result != 0:  # 1: no rule matched, 2: already seen; neither can happen with the catch-all
            raise RuntimeError(f"durable_rules refused fact {fact.get('sid')!r} (code {result})")
        names: list[str] = []
        started = core.start_action_for_state(handle, state)
        message = started[1] if started else None
        while message:
            name = message[_MESSAGE_HEAD:message.index('"', _MESSAGE_HEAD)]
            if name != CATCH_ALL:
                names.append(name)
            message = core.complete_and_start_action(handle, state)
        core.delete_state(handle, str(fact["sid"]))
        return names

    def delete(self) -> None:
        """Free the ruleset in the core (dropping the Python object frees nothing)."""
        if self.handle is not None:
            self._core.delete_ruleset(self.handle)
            self.handle = None

    def __enter__(self) -> CoreRuleset:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.delete()
