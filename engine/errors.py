"""Typed rule errors: each carries where it is, what is wrong and how to fix it.

Modelled on rule-engine: errors are raised while a rule set is loaded, never while
it serves, and every one can be printed as a line a lawyer can act on.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RuleProblem:
    """One thing wrong with a rule set, located in a file."""

    file: str
    line: int | None
    message: str
    suggestion: str | None = None
    code: str = "invalid"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.message}"
        if self.suggestion:
            text += f" ({self.suggestion})"
        return text

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "code": self.code,
            "message": self.message,
            "suggestion": self.suggestion,
        }


@dataclass
class RuleSetInvalid(Exception):
    """The rule set cannot be activated; `problems` lists every reason."""

    problems: list[RuleProblem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.summary())

    def summary(self) -> str:
        count = len(self.problems)
        head = f"rule set invalid: {count} problem{'s' if count != 1 else ''}"
        return "\n".join([head, *(f"  {p}" for p in self.problems)])

    def __str__(self) -> str:
        return self.summary()


class ProblemList:
    """Collect problems while loading, so the legal team sees all of them at once."""

    def __init__(self) -> None:
        self.items: list[RuleProblem] = []

    def add(
        self,
        file: str,
        line: int | None,
        message: str,
        suggestion: str | None = None,
        code: str = "invalid",
    ) -> None:
        self.items.append(RuleProblem(file, line, message, suggestion, code))

    def extend(self, problems: list[RuleProblem]) -> None:
        self.items.extend(problems)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise RuleSetInvalid(list(self.items))
