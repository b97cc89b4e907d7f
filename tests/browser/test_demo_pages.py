"""The demo pages in headless Chromium (Debian's, driven by playwright-core), as a person uses them.

Screenshots of every page go to test-artifacts/screenshots/ for review.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TESTS, ServerProcess, run_peer

DEMO = TESTS.parent / "examples" / "demo" / "app.py"
SHOTS = Path(os.environ.get("SURGE_SCREENSHOTS", TESTS.parent / "test-artifacts" / "screenshots"))


def run_browser(**opts: Any) -> dict[str, Any]:
    chromium = shutil.which("chromium")
    assert chromium, "Chromium is not installed (make test installs Debian's chromium)"
    SHOTS.mkdir(parents=True, exist_ok=True)
    return run_peer("browser.js", {**opts, "shots": str(SHOTS), "chromium": chromium}, timeout=180)


@pytest.fixture(scope="module")
def seen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    db = tmp_path_factory.mktemp("demo") / "notifications.sqlite3"
    server = ServerProcess(DEMO, {"DEMO_TICK": "0.5", "DEMO_DB": str(db)})
    try:
        yield {**run_browser(url=server.url), "url": server.url}
    finally:
        server.stop()


def test_landing_page_links_every_example(seen: dict[str, Any]) -> None:
    assert seen["landing"]["links"] == [
        *("/notifications", "/push", "/chat", "/progress", "/echo", "/old-client", "/inside")
    ]


def test_the_demo_has_an_icon_where_browsers_look(seen: dict[str, Any]) -> None:
    with urllib.request.urlopen(seen["url"] + "/favicon.ico", timeout=5) as response:
        assert response.status == 200 and response.headers["Content-Type"].startswith("image/svg+xml")


def test_timed_push_updates_the_value_and_the_chart(seen: dict[str, Any]) -> None:
    assert seen["push"]["points"] >= 4
    assert 0 <= float(seen["push"]["value"]) <= 100


def test_progress_bar_goes_through_every_step_to_100_percent(seen: dict[str, Any]) -> None:
    assert seen["progress"]["seen"] == [str(n) for n in range(1, 11)]  # each step shown, not a burst
    assert seen["progress"]["width"] == "100%"


@pytest.mark.parametrize("page", ["echo", "old2", "old1"])
def test_echo_pages_round_trip_with_acks(seen: dict[str, Any], page: str) -> None:
    log = seen[page]["log"]
    assert "my_response #1: hello 中文 😀" in log and "ack: received hello 中文 😀" in log


def test_chat_room_entrance_messages_and_members(seen: dict[str, Any]) -> None:
    assert seen["chat"]["members"].split("\n") == ["Ada", "Bob"]
    assert "Bob has entered the room." in seen["chat"]["log"] and "Bob: hi Ada" in seen["chat"]["log"]


def test_notifications_reach_every_tab_live_and_offline_users_later(seen: dict[str, Any]) -> None:
    result = seen["notifications"]
    assert result["navigations"] == {"b1": 0, "b2": 0}  # shown without a reload, in both of bob's tabs
    assert result["badgeAfterRead"] == "0"  # read in one tab, cleared in the other
    assert result["carolBadge"] == "1"  # sent while she was away


def test_the_admin_ui_shows_the_chat_and_disconnects_a_socket(seen: dict[str, Any]) -> None:
    """The official @socket.io/admin-ui page, served by the demo at /admin/ (screenshots admin-*.png)."""
    assert "error" not in seen, seen.get("error")
    admin = seen["admin"]
    assert admin["serverUrl"] == seen["url"]  # the sign-in form knows where it is
    assert admin["chatSockets"] == "2"  # Ada and Bob, on the dashboard's namespaces
    assert admin["room"][:3] == ["lobby", "PUBLIC", "2"]  # as the UI shows it
    assert admin["rows"] == 2
    assert admin["bobGone"] is True and admin["adaConnected"] is True  # the UI's disconnect reached Bob only
    assert admin["rowsAfter"] == 1
    chat_connects = re.search(r'^surge_connects_total\{namespace="/chat"\} (\S+)$', admin["metrics"], re.M)
    assert chat_connects is not None and float(chat_connects.group(1)) >= 2  # the demo page's live metrics


def test_notifications_across_the_two_processes_of_make_demo_cluster(tmp_path: Path) -> None:
    """examples/demo/cluster.py, which `make demo-cluster` runs: two processes sharing rooms through Redis."""
    env = {"DEMO_DB": str(tmp_path / "shared.sqlite3"), "SURGE_CHANNEL": "surge-demo-" + secrets.token_hex(4)}
    launcher = ServerProcess(DEMO.with_name("cluster.py"), env)
    second = f"http://127.0.0.1:{launcher.port + 1}"
    try:
        launcher.wait_output(f"the demo on {launcher.url} and {second}", timeout=20)  # once both answer
        result = run_browser(url=launcher.url, url2=second)
    finally:
        launcher.stop()
    assert result["cluster"]["badge"] == "1"
    assert result["cluster"]["servers"] == 2  # the Admin UI on the first process sees both (admin-two-processes.png)
