"""The ``stories:`` block of the config: defaults, durations, and problems named with their line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import VENEZUELA_RULES, write_config
from watcher.app import load
from watcher.errors import ConfigError
from watcher.models import StoryPolicy


def _config(tmp_path: Path, stories: dict[str, Any] | None) -> Path:
    more = {"stories": stories} if stories is not None else {}
    return write_config(
        tmp_path, [], {"desk": "json://127.0.0.1:9/desk"}, VENEZUELA_RULES, more=more
    )


def test_grouping_is_on_by_default_without_a_hold(tmp_path: Path) -> None:
    assert load(_config(tmp_path, None)).stories == StoryPolicy(True, 86400.0, 0.0)


def test_window_hold_and_the_off_switch_are_read(tmp_path: Path) -> None:
    stories = {"enabled": False, "window": "6h", "hold": "2m30s"}
    assert load(_config(tmp_path, stories)).stories == StoryPolicy(False, 6 * 3600.0, 150.0)
    for zero in (0, "0", "0s", "0m"):
        assert load(_config(tmp_path, {"hold": zero})).stories.hold == 0.0


@pytest.mark.parametrize(
    ("stories", "message"),
    [
        ({"hold": "soon"}, "stories.hold: 'soon' is not a duration; write e.g. 30s, 5m, 1h"),
        ({"window": 0}, "stories.window: 0: a duration must be more than zero"),
        ({"hodl": "5m"}, 'unknown key "hodl"; did you mean "hold"?'),
    ],
)
def test_a_bad_setting_is_a_problem_at_its_line(
    tmp_path: Path, stories: dict[str, Any], message: str
) -> None:
    path = _config(tmp_path, stories)
    with pytest.raises(ConfigError) as caught:
        load(path)
    (problem,) = caught.value.problems
    assert message in problem.message
    (key,) = stories
    assert f'"{key}"' in path.read_text().splitlines()[problem.line - 1]
