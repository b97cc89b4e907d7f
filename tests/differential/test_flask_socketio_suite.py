"""Flask-SocketIO's own test suite, run on Surge with only the import changed.

The suite ships in Flask-SocketIO's sdist on PyPI: the test takes the sdist of the release installed
as the oracle (pip download), changes ``from flask_socketio import`` to ``from surge import``, and
runs it with pytest in a process of its own.  Every one of its tests must pass.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from importlib.metadata import version
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("flask-socketio-suite")
    release = version("flask-socketio")
    pip = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps"]
    subprocess.run(
        [*pip, "--no-binary", ":all:", "-d", str(where), f"flask-socketio=={release}"],
        check=True,
        timeout=120,
    )
    (sdist,) = where.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith("/test_socketio.py"))
        source = archive.extractfile(member)
        assert source is not None
        text = source.read().decode()
    assert text.count("from flask_socketio import") == 1
    path = where / "test_socketio_on_surge.py"
    path.write_text(text.replace("from flask_socketio import", "from surge import"))
    return path


def test_every_test_of_flask_socketio_passes_on_surge(suite: Path) -> None:
    expected = suite.read_text().count("    def test_")
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "-c", "/dev/null"]
    result = subprocess.run(
        [*pytest, "--rootdir", str(suite.parent), str(suite)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=suite.parent,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert f"{expected} passed" in summary and "skipped" not in summary, summary
