"""The front works on Flask's public API alone: the front and test-client tests again, with the fast path off.

surge.flask_context uses Flask's private context variables when it can; on a
Flask without them (Flask's main branch has merged the request context into
the app context) it falls back to ``app.request_context(environ)``.  This runs
the same tests with that fallback forced, so the fallback is known to work
before a Flask release needs it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_front_tests_pass_on_flasks_public_api() -> None:
    env = dict(os.environ, SURGE_FLASK_CONTEXT="public")
    tests = ["tests/front", "tests/differential/test_test_client.py"]
    ignore = ["--deselect", "tests/front/test_flask_public_context.py"]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests, *ignore],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout.splitlines()[-1]


def test_the_fallback_is_chosen_when_asked() -> None:
    code = "import surge.flask_context as c; print(c.HandlerContext.__name__)"
    env = dict(os.environ, SURGE_FLASK_CONTEXT="public")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "PublicRequestContext"
    env = {k: v for k, v in os.environ.items() if k != "SURGE_FLASK_CONTEXT"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "SocketRequestContext"
