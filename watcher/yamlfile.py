"""Load YAML while remembering the line of every key and list item.

Every config error names ``PATH:LINE``, so values carry their positions: mappings load as
``LineDict`` (with the line of each key) and sequences as ``LineList`` (with the line of each
item). Duplicate keys, which plain PyYAML silently collapses, are reported as problems.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from watcher.errors import Problem


class LineDict(dict[str, Any]):
    """A mapping that knows its own line and the line of each of its keys."""

    line: int
    key_lines: dict[str, int]


class LineList(list[Any]):
    """A sequence that knows its own line and the line of each of its items."""

    line: int
    item_lines: list[int]


_UNREADABLE = object()


_STR = "tag:yaml.org,2002:str"


def _convert(node: yaml.Node, path: str, problems: list[Problem], constructor: _Constructor) -> Any:
    if type(node) is yaml.ScalarNode and node.tag == _STR:
        return node.value  # most of a rules file: ids, titles, queries; nothing to construct
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        constructor.flatten_mapping(node)  # YAML merge keys: "<<: *defaults"
        result = LineDict()
        result.line = line
        result.key_lines = {}
        for key_node, value_node in node.value:
            key = _convert(key_node, path, problems, constructor)
            key_line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                key = str(key)
            if key in result:
                problems.append(
                    Problem(
                        path,
                        key_line,
                        f'duplicate key "{key}" (first on line '
                        f"{result.key_lines[key]}); remove one",
                    )
                )
                continue
            value = _convert(value_node, path, problems, constructor)
            if value is _UNREADABLE:
                continue  # reported already; the key counts as absent
            result[key] = value
            result.key_lines[key] = key_line
        return result
    if isinstance(node, yaml.SequenceNode):
        pairs = [
            (_convert(v, path, problems, constructor), v.start_mark.line + 1) for v in node.value
        ]
        pairs = [(v, ln) for v, ln in pairs if v is not _UNREADABLE]
        items = LineList(v for v, _ in pairs)
        items.line = line
        items.item_lines = [ln for _, ln in pairs]
        return items
    try:
        return constructor.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, TypeError) as exc:
        what = getattr(exc, "problem", None) or str(exc)
        problems.append(Problem(path, line, f"cannot read this value: {what}"))
        return _UNREADABLE


class _Constructor(yaml.SafeLoader):
    """A loader used only to construct scalars (ints, bools, dates) the way safe_load would:
    one per file (making one per value was most of the time of loading 100,000 rules)."""

    def __init__(self) -> None:
        super().__init__("")


# libyaml's parser in C where PyYAML was built with it (the same nodes, marks and errors as
# the Python one, ~10x faster: a 100,000-rule file is 750,000 nodes)
_COMPOSER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(path: Path, display: str) -> tuple[Any, list[Problem]]:
    """Parse one YAML file; syntax errors come back as problems naming the line, never raise."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [Problem(display, 1, "file not found")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(display, 1, f"cannot read file: {exc}")]
    try:
        node = yaml.compose(text, Loader=_COMPOSER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = exc.problem or "invalid YAML"
        context = ""
        if exc.context:
            started = exc.context_mark
            where = f" started on line {started.line + 1}" if started is not None else ""
            context = f" ({exc.context}{where})"
        return None, [Problem(display, line, f"YAML syntax error: {what}{context}")]
    except yaml.YAMLError as exc:
        return None, [Problem(display, 1, f"YAML syntax error: {exc}")]
    if node is None:
        return None, []
    problems: list[Problem] = []
    try:
        return _convert(node, display, problems, _Constructor()), problems
    except yaml.MarkedYAMLError as exc:  # e.g. a merge key pointing at a non-mapping
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        return None, [*problems, Problem(display, line, f"YAML error: {exc.problem or exc}")]


def line_of(data: Any, loc: Sequence[str | int], default: int = 1) -> int:
    """The line of the deepest element of ``loc`` that exists in ``data``."""
    line = getattr(data, "line", default)
    current = data
    for key in loc:
        if isinstance(current, LineDict) and isinstance(key, str) and key in current:
            line = current.key_lines[key]
            current = current[key]
        elif isinstance(current, LineList) and isinstance(key, int) and 0 <= key < len(current):
            line = current.item_lines[key]
            current = current[key]
        else:
            break
    return line
