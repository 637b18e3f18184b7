"""Errors a user can act on. Each carries a message that says what to fix."""

from __future__ import annotations

from dataclasses import dataclass


class WatcherError(Exception):
    """Base of every error watcher reports to its user instead of a traceback."""


@dataclass(frozen=True)
class Problem:
    """One problem in a config or rules file, reported as ``PATH:LINE: message``."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class ConfigError(WatcherError):
    """The config or rules are invalid; holds every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class QuerySyntaxError(WatcherError):
    """A rule query does not parse; ``column`` is 1-based within the query text."""

    def __init__(self, message: str, column: int | None = None) -> None:
        self.message = message
        self.column = column
        where = f" (at column {column})" if column is not None else ""
        super().__init__(f"{message}{where}")
