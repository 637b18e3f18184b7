"""A channel's secret never reaches the log, however verbose: a Slack webhook's secret is the
path of its URL, which HTTP libraries print at debug level."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import VENEZUELA_RULES, WebhookReceiver, write_config

TOKEN = "T0PSECRETW3BH00KT0KEN"


def test_the_most_verbose_log_of_a_send_holds_no_secret_of_the_channel(
    tmp_path: Path, webhook: WebhookReceiver
) -> None:
    config = write_config(
        tmp_path,
        feeds=[],
        channels={"desk": f"json://127.0.0.1:{webhook.port}/hook/{TOKEN}"},
        rules=VENEZUELA_RULES,
    )
    done = subprocess.run(
        [sys.executable, "-m", "watcher", "-vv", "--config", str(config), "notify-test", "desk"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert done.returncode == 0, done.stderr
    assert webhook.received and webhook.received[0][0] == f"/hook/{TOKEN}"  # it was sent there
    assert TOKEN not in done.stderr and TOKEN not in done.stdout
