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


# libyaml scans and parses (in C; the pure-Python scanner was most of a load); the events
# are composed here, so every check below still holds on the way.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_ALLOWED_TAG = "!"  # the non-specific tag of a quoted scalar; any other explicit tag is refused


class _Frame:
    __slots__ = ("container", "key", "key_line")

    def __init__(self, container: Any) -> None:
        self.container = container
        self.key: Any = _NO_KEY
        self.key_line = 0


_NO_KEY = object()


def _refuse(message: str, mark: Any) -> None:
    raise yaml.composer.ComposerError(None, None, message, mark)


def _scalar(loader: Any, event: yaml.ScalarEvent, file: str) -> Any:
    tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
    try:
        return loader.construct_object(node, deep=True)
    except ValueError as exc:  # e.g. 2025-02-30 looks like a date but is none
        kind = "date" if tag.endswith(":timestamp") else "value"
        raise RuleFileError(RuleProblem(file, event.start_mark.line + 1,
                                        f"'{event.value}' is not a valid {kind}: {exc}",
                                        "write real calendar dates as YYYY-MM-DD", code="schema")) from exc


def _compose(loader: Any, file: str) -> Any:
    """Build LineDict / LineList values from the parser's events, refusing tags, anchors,
    aliases, deep nesting, several documents and duplicate keys."""
    stack: list[_Frame] = []
    root: Any = None
    documents = 0
    while loader.check_event():
        event = loader.get_event()
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                _refuse("expected a single document in the stream, but found another document",
                        event.start_mark)
            continue
        if isinstance(event, (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentEndEvent)):
            continue
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            _refuse("anchors and aliases (&name, *name) are not allowed in rule files", event.start_mark)
        tag = getattr(event, "tag", None)
        if tag is not None and tag != _ALLOWED_TAG:  # rule files never need an explicit tag
            _refuse(f"tag {tag} is not allowed in rule files", event.start_mark)
        line = event.start_mark.line + 1
        if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            value = stack.pop().container
        elif isinstance(event, yaml.MappingStartEvent):
            value = LineDict()
            value.line, value.key_lines = line, {}
        elif isinstance(event, yaml.SequenceStartEvent):
            value = LineList()
            value.line, value.item_lines = line, []
        else:
            value = _scalar(loader, event, file)
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            _place(stack, value, line, file, started=True)
            stack.append(_Frame(value))
            if len(stack) > MAX_DEPTH:
                _refuse(f"nesting deeper than {MAX_DEPTH} levels", event.start_mark)
            if len(stack) == 1:
                root = value
            continue
        if not stack:
            root = value
        elif not isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            _place(stack, value, line, file, started=False)
    return root


def _place(stack: list[_Frame], value: Any, line: int, file: str, started: bool) -> None:
    """Put a new value into the container being built (a key, a value or an item)."""
    if not stack:
        return
    frame = stack[-1]
    container = frame.container
    if isinstance(container, LineList):
        container.item_lines.append(line)
        container.append(value)
        return
    if frame.key is _NO_KEY:
        if started:
            raise RuleFileError(RuleProblem(file, line, "a key must be a plain value"))
        if value in container:
            raise RuleFileError(RuleProblem(
                file, line, f"duplicate key '{value}' (first at line {container.key_lines[value]})",
                "remove one of them; YAML would silently keep only the last", code="duplicate_key"))
        frame.key, frame.key_line = value, line
        return
    container.key_lines[frame.key] = frame.key_line
    container[frame.key] = value
    frame.key = _NO_KEY


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
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)  # bounded even if the file grows meanwhile
    except OSError as exc:  # unreadable (permissions), or gone since the stat
        raise RuleFileError(RuleProblem(file, None, f"cannot read file: {exc.strerror}",
                                        "make it readable by the service's user", code="missing")) from exc
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
        return _compose(loader, file)
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
