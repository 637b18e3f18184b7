"""test-rule and backtest as a user runs them: explanations, and nothing written or sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import Entry, FeedServer, WebhookReceiver, rss, write_config
from watcher.cli import cli

RULES = """
aliases:
  court: ["International Criminal Court", "ICC", "Corte Penal Internacional"]
rules:
  - id: icc-venezuela
    title: ICC investigation of Venezuela
    query: '@court AND Venezuela*'
    notify: [desk]
  - id: khan
    title: Karim Khan
    query: '"Karim Khan" NEAR/5 (Maduro OR Caracas)'
"""


@pytest.fixture
def desk(tmp_path: Path, feed_server: FeedServer, webhook: WebhookReceiver) -> Path:
    url = feed_server.set(
        "/f.xml",
        rss(
            [
                Entry("1", "La Corte Penal Internacional y Venezuela", "Karim Khan en Caracas"),
                Entry("2", "ICC and Venezuela", "", link="https://news.example/1?utm_source=x"),
                Entry("3", "Cricket news", ""),
            ]
        ),
    )
    return write_config(
        tmp_path,
        feeds=[{"url": url, "name": "Desk"}],
        channels={"desk": f"json://127.0.0.1:{webhook.port}/d"},
        rules=RULES,
    )


def invoke(config: Path, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args], input=stdin)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_test_rule_explains_fields_positions_and_excerpt(desk: Path) -> None:
    code, out, _ = invoke(
        desk,
        "test-rule",
        "--title",
        "La CPI, la Corte Penal Internacional",
        "--text",
        "<p>El fiscal visitó <b>Venezuela</b>.</p>",
    )
    assert code == 0
    assert "MATCH icc-venezuela: ICC investigation of Venezuela" in out
    assert "'Corte Penal Internacional'" in out and "title" in out and "words 4-6" in out
    assert "'Venezuela'" in out and "summary  word 4" in out
    assert "El fiscal visitó [Venezuela]" in out
    assert "khan" not in out


def test_test_rule_json_and_stdin_and_one_rule(desk: Path) -> None:
    code, out, _ = invoke(
        desk,
        "test-rule",
        "--rule",
        "khan",
        "--format",
        "json",
        "-",
        stdin="Prosecutor Karim Khan landed in Caracas on Sunday",
    )
    assert code == 0
    (hit,) = json.loads(out)
    assert hit["rule"] == "khan"
    assert [(t["text"], t["field"], t["start"], t["end"]) for t in hit["terms"]] == [
        ("Karim Khan", "summary", 1, 3),
        ("Caracas", "summary", 5, 6),
    ]
    code, out, _ = invoke(desk, "test-rule", "--rule", "khan", "--text", "Imran Khan in Lahore")
    assert code == 0 and out.strip() == "no rule matches"


def test_test_rule_tries_each_entry_of_a_feed_and_refuses_bad_input(
    desk: Path, feed_server: FeedServer
) -> None:
    code, out, _ = invoke(desk, "test-rule", "--url", feed_server.url("/f.xml"), "--format", "json")
    assert code == 0
    assert sorted((h["item"], h["rule"]) for h in json.loads(out)) == [
        ("ICC and Venezuela", "icc-venezuela"),
        ("La Corte Penal Internacional y Venezuela", "icc-venezuela"),
        ("La Corte Penal Internacional y Venezuela", "khan"),
    ]
    code, _, err = invoke(desk, "test-rule", "--rule", "nope", "--text", "x")
    assert code == 1 and 'no rule "nope"' in err and "icc-venezuela" in err
    code, _, err = invoke(desk, "test-rule", "--text", "x", "--url", "http://127.0.0.1:9/")
    assert code == 2 and "give the item once" in err
    code, _, err = invoke(desk, "test-rule", "--url", "http://127.0.0.1:9/feed")
    assert code == 1 and "cannot fetch" in err


def test_backtest_shows_what_a_rule_would_have_caught_and_sends_nothing(
    desk: Path, webhook: WebhookReceiver
) -> None:
    rules = desk.parent / "rules" / "main.yaml"
    rules.write_text(RULES.replace("notify: [desk]", "notify: []"))
    assert invoke(desk, "run", "--once")[0] == 0  # store the items; no channel routed
    hits_before = len(json.loads(invoke(desk, "hits", "--format", "json")[1]))
    # Now edit the rule and try it on what is stored, before any daemon reloads it.
    rules.write_text(RULES)
    code, out, _ = invoke(desk, "backtest", "--rule", "icc-venezuela", "--format", "json")
    assert code == 0
    result = json.loads(out)
    assert result["scanned"] == 3 and result["matches"] == 2
    # Both entries link to one article (a tracking parameter apart): one alert, not two.
    assert result["articles"] == 1 and result["alerts"] == {"desk": 1}
    assert {s["title"] for s in result["sample"]} == {
        "ICC and Venezuela",
        "La Corte Penal Internacional y Venezuela",
    }
    code, out, _ = invoke(desk, "backtest", "--rule", "icc-venezuela")
    assert "icc-venezuela: 2 matches (1 articles) in 3 items" in out
    assert "would have alerted: desk 1" in out
    assert webhook.received == []  # nothing was sent
    code, out, _ = invoke(desk, "hits", "--format", "json")
    assert len(json.loads(out)) == hits_before  # and nothing was stored
