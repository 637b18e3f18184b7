"""`watcher check` (and `watcher run`) on broken config and rules files.

Every test runs the real CLI in-process and asserts what a user sees: the exit code and the
``PATH:LINE: message`` lines on stderr, with PATH relative to the working directory.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from watcher.cli import cli

REPO = Path(__file__).resolve().parents[2]

FEED_XML = """\
<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0">
  <channel>
    <title>Test Desk</title>
    <link>http://example.org/</link>
    <description>A local feed for config tests</description>
    <item>
      <title>ICC opens an investigation into Venezuela</title>
      <link>http://example.org/1</link>
      <guid>http://example.org/1</guid>
    </item>
  </channel>
</rss>
"""

# A valid config; tests copy it and break one thing. Line numbers are part of the assertions.
GOOD_CONFIG = """\
database: sqlite:///state.db
defaults:
  interval: 5m
feeds:
  - url: feed.xml
    name: Test Desk
channels:
  console: console://
rules: rules/
"""

GOOD_RULES = """\
aliases:
  court: ["International Criminal Court", "ICC"]
rules:
  - id: icc
    title: The court
    query: '@court AND Venezuela'
    notify: [console]
"""

SECRET = "Zq9-very-secret-token-4711"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp_path as the working directory, holding a feed file and (by default) valid rules."""
    monkeypatch.chdir(tmp_path)
    for name in (
        "WATCHER_CONFIG",
        "WATCHER_DATABASE_URL",
        "WATCHER_TEST_SECRET",
        "WATCHER_TEST_SLACK_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    write(tmp_path / "feed.xml", FEED_XML)
    write(tmp_path / "rules" / "main.yaml", GOOD_RULES)
    return tmp_path


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def check(config: str = "watcher.yaml") -> Result:
    return invoke("--config", config, "check")


def problems(result: Result) -> list[str]:
    return result.stderr.splitlines()


def assert_one_problem(result: Result, prefix: str, *fragments: str) -> str:
    """Exit 1 and exactly one stderr line, starting with ``prefix`` and holding each fragment."""
    assert isinstance(result.exception, SystemExit), f"crashed: {result.exception!r}"
    assert result.exit_code == 1, result.output
    lines = problems(result)
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith(prefix), line
    for fragment in fragments:
        assert fragment in line, line
    return line


# --- valid configs ------------------------------------------------------------------------------


def test_valid_config_checks_ok(project: Path) -> None:
    write(project / "watcher.yaml", GOOD_CONFIG)
    result = check()
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout.strip() == "watcher.yaml: OK (1 feeds, 1 rules, 1 channels)"


def test_shipped_config_checks_ok(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("WATCHER_CONFIG", raising=False)
    monkeypatch.delenv("WATCHER_DATABASE_URL", raising=False)
    result = invoke("check")  # no --config: ./config/watcher.yaml
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout.startswith("config/watcher.yaml: OK (")
    assert not re.search(r"\(0 feeds|, 0 rules|, 0 channels", result.stdout), result.stdout


# --- where the config comes from ------------------------------------------------------------------


def test_config_file_not_found(project: Path) -> None:
    assert_one_problem(
        check("nope.yaml"), "nope.yaml:1: ", "config file not found", "--config", "WATCHER_CONFIG"
    )


def test_default_config_path_when_neither_flag_nor_env(project: Path) -> None:
    result = invoke("check")
    assert_one_problem(result, "config/watcher.yaml:1: ", "config file not found")
    write(project / "config" / "watcher.yaml", GOOD_CONFIG.replace("feed.xml", "../feed.xml"))
    write(project / "config" / "rules" / "main.yaml", GOOD_RULES)
    result = invoke("check")
    assert result.exit_code == 0, result.output
    assert "config/watcher.yaml: OK" in result.stdout


def test_watcher_config_env_var_used_without_flag(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(project / "elsewhere.yaml", GOOD_CONFIG.replace("interval: 5m", "interval: soon"))
    monkeypatch.setenv("WATCHER_CONFIG", "elsewhere.yaml")
    assert_one_problem(invoke("check"), "elsewhere.yaml:3: ", "'soon' is not a duration")


def test_config_flag_beats_env_var(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(project / "watcher.yaml", GOOD_CONFIG)
    monkeypatch.setenv("WATCHER_CONFIG", "missing.yaml")
    result = check("watcher.yaml")
    assert result.exit_code == 0, result.output


def test_path_outside_cwd_is_shown_in_full(tmp_path: Path, project: Path) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside.yaml"
    write(outside, f"feedz: []\nrules: {project / 'rules'}\n")
    try:
        result = check(str(outside))
    finally:
        outside.unlink()
    assert_one_problem(result, f"{outside}:1: ", 'unknown key "feedz"')


# --- YAML -----------------------------------------------------------------------------------------


def test_yaml_syntax_error_names_its_line(project: Path) -> None:
    write(
        project / "watcher.yaml",
        """\
        database: sqlite:///state.db
        feeds:
          - url: feed.xml
           name: Test Desk
        rules: rules/
        """,
    )
    assert_one_problem(check(), "watcher.yaml:4: ", "YAML syntax error", "line 3")


def test_yaml_syntax_error_in_rules_file_does_not_hide_other_rules_files(project: Path) -> None:
    write(project / "watcher.yaml", GOOD_CONFIG)
    write(
        project / "rules" / "a.yaml",
        """\
        rules:
          - id: one
            query: 'a AND b'
            notify: [console
          - id: two
        """,
    )
    write(
        project / "rules" / "z.yaml",
        """\
        rules:
          - id: icc
            query: x
        """,
    )
    result = check()
    assert result.exit_code == 1
    lines = problems(result)
    assert len(lines) == 2, lines
    assert lines[0].startswith("rules/a.yaml:5: YAML syntax error"), lines
    assert lines[1].startswith("rules/z.yaml:2: "), lines
    assert "rules/main.yaml:4" in lines[1]


def test_duplicate_yaml_key(project: Path) -> None:
    write(project / "watcher.yaml", GOOD_CONFIG + "feeds: []\n")
    assert_one_problem(check(), "watcher.yaml:10: ", 'duplicate key "feeds"', "first on line 4")


def test_duplicate_yaml_key_in_rules_file(project: Path) -> None:
    write(project / "watcher.yaml", GOOD_CONFIG)
    write(
        project / "rules" / "main.yaml",
        """\
        rules:
          - id: icc
            query: Venezuela
            query: Caracas
        """,
    )
    assert_one_problem(check(), "rules/main.yaml:4: ", 'duplicate key "query"', "first on line 3")


def test_top_level_not_a_mapping(project: Path) -> None:
    write(project / "watcher.yaml", "- url: feed.xml\n")
    assert_one_problem(check(), "watcher.yaml:1: ", "mapping")


# --- config shape ---------------------------------------------------------------------------------


def test_unknown_top_level_key_suggests_the_right_one(project: Path) -> None:
    write(project / "watcher.yaml", GOOD_CONFIG.replace("channels:", "chanels:"))
    assert_one_problem(
        check(), "watcher.yaml:7: ", 'unknown key "chanels"', 'did you mean "channels"?'
    )


def test_unknown_top_level_key_without_a_close_match_lists_allowed_keys(project: Path) -> None:
    write(project / "watcher.yaml", GOOD_CONFIG + "colour: red\n")
    line = assert_one_problem(check(), "watcher.yaml:10: ", 'unknown key "colour"', "allowed:")
    for key in ("database", "defaults", "feeds", "channels", "rules"):
        assert key in line


def test_unknown_key_inside_a_feed(project: Path) -> None:
    write(
        project / "watcher.yaml", GOOD_CONFIG.replace("    name: Test Desk", "    nmae: Test Desk")
    )
    assert_one_problem(check(), "watcher.yaml:6: ", 'unknown key "nmae"', 'did you mean "name"?')


@pytest.mark.parametrize(
    ("old", "new", "line"),
    [
        ("  interval: 5m", "  interval: 5 minutes", 3),
        ("    name: Test Desk", "    name: Test Desk\n    interval: 5 minutes", 7),
    ],
    ids=["defaults", "feed"],
)
def test_bad_duration(project: Path, old: str, new: str, line: int) -> None:
    write(project / "watcher.yaml", GOOD_CONFIG.replace(old, new))
    assert_one_problem(check(), f"watcher.yaml:{line}: ", "'5 minutes' is not a duration", "5m")


def test_bad_backlog_value(project: Path) -> None:
    write(project / "watcher.yaml", GOOD_CONFIG.replace("  interval: 5m", "  backlog: never"))
    assert_one_problem(check(), "watcher.yaml:3: ", "backlog", "'alert' or 'skip'")


# --- feeds ----------------------------------------------------------------------------------------


def test_feed_file_not_found(project: Path) -> None:
    write(project / "watcher.yaml", GOOD_CONFIG.replace("url: feed.xml", "url: missing.xml"))
    assert_one_problem(check(), "watcher.yaml:5: ", "feed file not found", "missing.xml")


def test_feed_path_is_relative_to_the_config_file(project: Path) -> None:
    write(project / "conf" / "watcher.yaml", GOOD_CONFIG.replace("feed.xml", "../feed.xml"))
    write(project / "conf" / "rules" / "main.yaml", GOOD_RULES)
    result = check("conf/watcher.yaml")
    assert result.exit_code == 0, result.output
    write(project / "conf" / "watcher.yaml", GOOD_CONFIG)  # ./feed.xml next to the config: none
    assert_one_problem(
        check("conf/watcher.yaml"),
        "conf/watcher.yaml:5: ",
        "feed file not found",
        str(project / "conf" / "feed.xml"),
    )


def test_feed_file_not_found_points_at_the_url_key(project: Path) -> None:
    write(
        project / "watcher.yaml",
        GOOD_CONFIG.replace(
            "  - url: feed.xml\n    name: Test Desk", "  - name: Test Desk\n    url: missing.xml"
        ),
    )
    assert_one_problem(check(), "watcher.yaml:6: ", "feed file not found", "missing.xml")


def test_feed_as_bare_string_says_what_to_write(project: Path) -> None:
    write(
        project / "watcher.yaml",
        GOOD_CONFIG.replace("  - url: feed.xml\n    name: Test Desk", "  - feed.xml"),
    )
    line = assert_one_problem(check(), "watcher.yaml:5: ", "expected a mapping", "'feed.xml'")
    assert "_Feed" not in line
    assert "url" in line


def test_non_http_feed_url(project: Path) -> None:
    write(
        project / "watcher.yaml",
        GOOD_CONFIG.replace("url: feed.xml", "url: ftp://example.org/feed.xml"),
    )
    assert_one_problem(check(), "watcher.yaml:5: ", "ftp://example.org/feed.xml", "http(s)")


def test_duplicate_feed(project: Path) -> None:
    write(
        project / "watcher.yaml",
        GOOD_CONFIG.replace("channels:", "  - url: ./feed.xml\n    name: Again\nchannels:"),
    )
    assert_one_problem(check(), "watcher.yaml:7: ", "listed twice", "first on line 5")


# --- channels -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("not-a-url", "not an apprise URL"),
        ("nosuchservice://host/path", 'no notification service is called "nosuchservice://"'),
    ],
)
def test_channel_with_bad_apprise_url(project: Path, url: str, fragment: str) -> None:
    write(
        project / "watcher.yaml",
        GOOD_CONFIG.replace("  console: console://", f"  console: console://\n  ops: {url}"),
    )
    assert_one_problem(check(), "watcher.yaml:9: ", 'channel "ops"', fragment)


def test_channel_without_url(project: Path) -> None:
    write(
        project / "watcher.yaml",
        GOOD_CONFIG.replace("  console: console://", "  console: console://\n  ops:"),
    )
    assert_one_problem(check(), "watcher.yaml:9: ", 'channel "ops"', "apprise URL")


def test_channel_with_missing_env_var(project: Path) -> None:
    write(
        project / "watcher.yaml",
        GOOD_CONFIG.replace(
            "  console: console://", "  console: console://\n  slack: ${WATCHER_TEST_SLACK_URL}"
        ),
    )
    assert_one_problem(
        check(),
        "watcher.yaml:9: ",
        'channel "slack"',
        "environment variable WATCHER_TEST_SLACK_URL is not set",
    )


def test_channel_env_var_set_makes_it_valid(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHER_TEST_SLACK_URL", "console://")
    write(
        project / "watcher.yaml",
        GOOD_CONFIG.replace(
            "  console: console://", "  console: console://\n  slack: ${WATCHER_TEST_SLACK_URL}"
        ),
    )
    result = check()
    assert result.exit_code == 0, result.output
    assert "2 channels" in result.stdout


@pytest.mark.parametrize(
    "url",
    [
        "json://user:${WATCHER_TEST_SECRET}@${WATCHER_TEST_SLACK_URL}/hook",  # a var is missing
        "${WATCHER_TEST_SECRET}",  # resolves to no scheme at all
        "nosuchservice://${WATCHER_TEST_SECRET}@example.org",  # apprise has no such service
    ],
    ids=["missing-var", "no-scheme", "unknown-scheme"],
)
def test_resolved_channel_url_is_never_printed(
    project: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, url: str
) -> None:
    monkeypatch.setenv("WATCHER_TEST_SECRET", SECRET)
    write(
        project / "watcher.yaml",
        GOOD_CONFIG.replace("  console: console://", f'  console: console://\n  ops: "{url}"'),
    )
    caplog.set_level("DEBUG")
    checked = check()
    assert_one_problem(checked, "watcher.yaml:9: ", 'channel "ops"')
    ran = invoke("--config", "watcher.yaml", "run", "--once")
    assert ran.exit_code == 1
    for text in (checked.output, checked.stderr, ran.output, ran.stderr, caplog.text):
        assert SECRET not in text
        assert "very-secret" not in text


def test_secret_in_a_token_apprise_rejects_is_never_logged(
    project: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # In a real run these log records go to stderr next to the PATH:LINE lines.
    monkeypatch.setenv("WATCHER_TEST_SECRET", SECRET)
    write(
        project / "watcher.yaml",
        GOOD_CONFIG.replace(
            "  console: console://",
            "  console: console://\n"
            '  ops: "slack://T0AAAAAAA/${WATCHER_TEST_SECRET}/abcdefghijklmnopqrstuvwx"',
        ),
    )
    caplog.set_level("DEBUG")
    result = check()
    assert_one_problem(result, "watcher.yaml:9: ", 'channel "ops"')
    assert SECRET not in caplog.text


def test_real_stderr_holds_only_problem_lines(project: Path) -> None:
    write(
        project / "watcher.yaml",
        GOOD_CONFIG.replace(
            "  console: console://", "  console: console://\n  ops: nosuchservice://host/path"
        ),
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from watcher.cli import main; main()",
            "--config",
            "watcher.yaml",
            "check",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        'watcher.yaml:9: channel "ops": no notification service is called "nosuchservice://" '
        "(a typo? see apprise's list)"
    ]


# --- rules ----------------------------------------------------------------------------------------


def rules_check(project: Path, rules: str) -> Result:
    write(project / "watcher.yaml", GOOD_CONFIG)
    write(project / "rules" / "main.yaml", rules)
    return check()


def test_rule_with_unknown_channel_points_at_notify(project: Path) -> None:
    result = rules_check(
        project,
        """\
        rules:
          - id: icc
            title: The court
            query: ICC
            notify: [console, newsroom]
        """,
    )
    assert_one_problem(
        result, "rules/main.yaml:5: ", 'rule "icc"', "'newsroom'", "channels: console"
    )


def test_rule_query_syntax_error_points_at_query_with_column(project: Path) -> None:
    result = rules_check(
        project,
        """\
        rules:
          - id: icc
            title: The court
            query: 'ICC AND (Venezuela OR Caracas'
        """,
    )
    assert_one_problem(result, "rules/main.yaml:4: ", 'rule "icc"', "column 9")


def test_duplicate_rule_id_across_files_names_both(project: Path) -> None:
    write(
        project / "rules" / "other.yaml",
        """\
        # more rules
        rules:
          - id: other
            query: Caracas
          - id: icc
            query: Venezuela
        """,
    )
    write(project / "watcher.yaml", GOOD_CONFIG)
    assert_one_problem(
        check(), "rules/other.yaml:5: ", 'rule id "icc"', "rules/main.yaml:4", "unique"
    )


def test_unknown_alias(project: Path) -> None:
    result = rules_check(
        project,
        """\
        aliases:
          court: [ICC]
        rules:
          - id: icc
            query: '@court AND @venezuela'
        """,
    )
    assert_one_problem(
        result, "rules/main.yaml:5: ", "unknown alias @venezuela", "@court", "column 12"
    )


def test_pure_not_query(project: Path) -> None:
    result = rules_check(
        project,
        """\
        rules:
          - id: quiet
            query: NOT (cricket OR football)
        """,
    )
    assert_one_problem(
        result, "rules/main.yaml:3: ", 'rule "quiet"', "NOT", "add a term the item must contain"
    )


def test_rule_without_query(project: Path) -> None:
    result = rules_check(
        project,
        """\
        rules:
          - id: ok
            query: ICC
          - id: empty
            title: Nothing to match
        """,
    )
    assert_one_problem(result, "rules/main.yaml:4: ", "query", "required")


def test_rule_id_with_spaces(project: Path) -> None:
    result = rules_check(
        project,
        """\
        rules:
          - title: Spaced
            id: icc venezuela
            query: ICC
        """,
    )
    assert_one_problem(result, "rules/main.yaml:3: ", "rule id", "no spaces")


def test_unknown_key_in_a_rule(project: Path) -> None:
    result = rules_check(
        project,
        """\
        rules:
          - id: icc
            query: ICC
            notfy: [console]
        """,
    )
    assert_one_problem(
        result, "rules/main.yaml:4: ", 'unknown key "notfy"', 'did you mean "notify"?'
    )


def test_rules_path_missing(project: Path) -> None:
    write(project / "watcher.yaml", GOOD_CONFIG.replace("rules: rules/", "rules: nowhere/"))
    result = check()
    assert result.exit_code == 1
    lines = problems(result)
    assert len(lines) == 1, lines
    assert "rules path not found" in lines[0]
    assert "nowhere" in lines[0]


def test_rules_path_missing_points_at_the_rules_key(project: Path) -> None:
    write(project / "watcher.yaml", GOOD_CONFIG.replace("rules: rules/", "rules: nowhere/"))
    assert_one_problem(check(), "watcher.yaml:9: ", "rules path not found", "nowhere")


# --- several problems at once ---------------------------------------------------------------------


def test_every_problem_reported_in_one_run(project: Path) -> None:
    write(
        project / "watcher.yaml",
        """\
        database: sqlite:///state.db
        feeds:
          - url: feed.xml
          - url: feed.xml
          - url: ftp://example.org/rss
          - url: gone.xml
        channels:
          console: console://
          bad: not-a-url
          slack: ${WATCHER_TEST_SLACK_URL}
        rules: rules/
        """,
    )
    write(
        project / "rules" / "main.yaml",
        """\
        rules:
          - id: icc
            query: 'ICC AND (Venezuela'
            notify: [console, pager]
          - id: quiet
            query: NOT cricket
        """,
    )
    result = check()
    assert result.exit_code == 1
    lines = problems(result)
    prefixes = [line.split(" ", 1)[0] for line in lines]
    assert sorted(prefixes) == sorted(
        [
            "watcher.yaml:4:",
            "watcher.yaml:5:",
            "watcher.yaml:6:",
            "watcher.yaml:9:",
            "watcher.yaml:10:",
            "rules/main.yaml:3:",
            "rules/main.yaml:4:",
            "rules/main.yaml:6:",
        ]
    ), lines


def test_run_once_refuses_with_the_same_lines_and_no_database(project: Path) -> None:
    write(
        project / "watcher.yaml",
        """\
        database: sqlite:///state.db
        feeds:
          - url: gone.xml
        channels:
          console: console://
        rules: rules/
        """,
    )
    write(
        project / "rules" / "main.yaml",
        """\
        rules:
          - id: icc
            query: ICC
            notify: [pager]
        """,
    )
    checked = check()
    assert checked.exit_code == 1
    assert len(problems(checked)) == 2
    ran = invoke("--config", "watcher.yaml", "run", "--once")
    assert ran.exit_code == 1, (ran.output, ran.exception)
    assert ran.stderr == checked.stderr
    assert ran.stdout == ""
    assert not (project / "state.db").exists()


def test_shape_error_does_not_hide_other_problems(project: Path) -> None:
    write(
        project / "watcher.yaml",
        """\
        database: sqlite:///state.db
        feeds:
          - url: feed.xml
            nmae: Typo
          - url: gone.xml
        rules: rules/
        """,
    )
    write(
        project / "rules" / "main.yaml",
        """\
        rules:
          - id: icc
            query: 'ICC AND (Venezuela'
        """,
    )
    lines = problems(check())
    assert len(lines) == 3, lines


def test_one_bad_rule_does_not_hide_the_others(project: Path) -> None:
    result = rules_check(
        project,
        """\
        rules:
          - id: empty
          - id: broken
            query: 'ICC AND (Venezuela'
        """,
    )
    assert len(problems(result)) == 2, problems(result)


# --- crashes instead of PATH:LINE lines -----------------------------------------------------------


def test_empty_duration(project: Path) -> None:
    write(project / "watcher.yaml", GOOD_CONFIG.replace("  interval: 5m", "  interval:"))
    assert_one_problem(check(), "watcher.yaml:3: ", "duration")


def test_date_as_duration(project: Path) -> None:
    write(project / "watcher.yaml", GOOD_CONFIG.replace("  interval: 5m", "  interval: 2024-01-01"))
    assert_one_problem(check(), "watcher.yaml:3: ", "duration")


def test_yaml_merge_key(project: Path) -> None:
    write(
        project / "watcher.yaml",
        """\
        x-slow: &slow
          interval: 1h
        feeds:
          - <<: *slow
            url: feed.xml
        channels:
          console: console://
        rules: rules/
        """,
    )
    result = check()
    assert isinstance(result.exception, SystemExit), f"crashed: {result.exception!r}"
    # Either accepted as YAML (then only the unknown x-slow key) or reported: never a traceback.
    assert all(re.match(r"^watcher\.yaml:\d+: ", line) for line in problems(result)), result.output
    assert problems(result), "x-slow is not a config key"


def test_unknown_yaml_tag(project: Path) -> None:
    write(project / "watcher.yaml", GOOD_CONFIG.replace("sqlite:///state.db", "!env DB_URL"))
    assert_one_problem(check(), "watcher.yaml:1: ")
