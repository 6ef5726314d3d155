"""Read one rule file safely and remember the line of every key and item.

Rule files are edited by hand, so they are read defensively: a size cap before
parsing, UTF-8 only, YAML's safe loader only (no ``!!python`` tags), no anchors or
aliases (they make "billion laughs" bombs and are never needed in a rule file), a
nesting cap, and duplicate keys refused instead of silently overwritten.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

import yaml

from .errors import RuleProblem

MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 32


class LineDict(dict):
    """A mapping that knows the line of itself and of each of its keys."""

    line: int = 0
    key_lines: dict

    def line_of(self, key: object) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    """A sequence that knows the line of itself and of each item."""

    line: int = 0
    item_lines: list

    def line_of(self, index: int) -> int:
        if 0 <= index < len(self.item_lines):
            return self.item_lines[index]
        return self.line


class RuleFileError(Exception):
    """A file could not be read as a rule file at all."""

    def __init__(self, problem: RuleProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class _Loader(yaml.SafeLoader):
    """Safe loader that refuses anchors, aliases and deep nesting while composing."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        tag = getattr(event, "tag", None)
        if tag is not None and tag != "!":  # any explicit tag: rule files never need one
            raise yaml.composer.ComposerError(
                None, None, f"tag {tag} is not allowed in rule files", event.start_mark)
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.composer.ComposerError(
                None,
                None,
                "anchors and aliases (&name, *name) are not allowed in rule files",
                event.start_mark,
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nesting deeper than {MAX_DEPTH} levels", event.start_mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _build(loader: _Loader, node: yaml.Node, file: str) -> Any:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result = LineDict()
        result.line = line
        result.key_lines = {}
        for key_node, value_node in node.value:
            key = _build(loader, key_node, file)
            if isinstance(key, (dict, list)):
                raise RuleFileError(
                    RuleProblem(file, key_node.start_mark.line + 1, "a key must be a plain value")
                )
            if key in result:
                raise RuleFileError(
                    RuleProblem(
                        file,
                        key_node.start_mark.line + 1,
                        f"duplicate key '{key}' (first at line {result.key_lines[key]})",
                        "remove one of them; YAML would silently keep only the last",
                        code="duplicate_key",
                    )
                )
            result.key_lines[key] = key_node.start_mark.line + 1
            result[key] = _build(loader, value_node, file)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = LineList()
        items.line = line
        items.item_lines = []
        for child in node.value:
            items.item_lines.append(child.start_mark.line + 1)
            items.append(_build(loader, child, file))
        return items
    try:
        return loader.construct_object(node, deep=True)
    except ValueError as exc:  # e.g. 2025-02-30 looks like a date but is none
        kind = "date" if node.tag.endswith(":timestamp") else "value"
        raise RuleFileError(RuleProblem(file, line, f"'{node.value}' is not a valid {kind}: {exc}",
                                        "write real calendar dates as YYYY-MM-DD", code="schema")) from exc


def load_yaml(path: Path, display_name: str | None = None) -> Any:
    """Parse `path` into LineDict/LineList values, or raise RuleFileError."""
    file = display_name or path.name
    try:
        info = path.stat()
    except OSError as exc:
        raise RuleFileError(RuleProblem(file, None, f"cannot read file: {exc.strerror}")) from exc
    if not stat.S_ISREG(info.st_mode):
        # A symlink to /dev/zero or a named pipe would make us read forever.
        raise RuleFileError(RuleProblem(file, None, "not a regular file",
                                        "rule files must be plain files, not devices or pipes",
                                        code="invalid"))
    size = info.st_size
    if size > MAX_FILE_BYTES:
        raise RuleFileError(
            RuleProblem(
                file,
                None,
                f"file is {size} bytes; rule files may be at most {MAX_FILE_BYTES} bytes",
                "split it or remove generated content",
                code="too_large",
            )
        )
    with path.open("rb") as handle:
        raw = handle.read(MAX_FILE_BYTES + 1)  # bounded even if the file grows meanwhile
    if len(raw) > MAX_FILE_BYTES:
        raise RuleFileError(RuleProblem(file, None, f"file is larger than {MAX_FILE_BYTES} bytes",
                                        "split it or remove generated content", code="too_large"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_line = raw[: exc.start].count(b"\n") + 1
        raise RuleFileError(
            RuleProblem(
                file,
                bad_line,
                f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
                "save the file as UTF-8",
                code="encoding",
            )
        ) from exc
    if text.startswith("\ufeff"):
        text = text[1:]
    loader = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is None:
            return None
        return _build(loader, node, file)
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise RuleFileError(RuleProblem(file, line, f"character not allowed in YAML: {exc.reason}",
                                        "remove control characters (Word's line breaks, say)",
                                        code="encoding")) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        message = exc.problem or "YAML syntax error"
        if exc.context:
            message = f"{exc.context}: {message}"
        hint = "check indentation, colons and quotes near this line"
        if "could not determine a constructor" in message or "is not allowed in rule files" in message:
            tag = re.search(r"tag:?\s*'?(\S+?)'?$", message)
            message = f"tag not allowed: {tag.group(1) if tag else message}"
            hint = "rule files may contain plain YAML values only, no !! tags"
        elif "anchors and aliases" in message:
            hint = "write the value out in full"
        elif "nesting deeper" in message:
            hint = "rule files never need this much nesting"
        raise RuleFileError(RuleProblem(file, line, message, hint, code="yaml")) from exc
    except RecursionError as exc:
        raise RuleFileError(
            RuleProblem(file, None, "nesting too deep", "rule files never need this much nesting",
                        code="yaml")
        ) from exc
    finally:
        if loader is not None:
            loader.dispose()
