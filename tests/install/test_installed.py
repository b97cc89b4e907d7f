"""Surge as users get it: built by pip's isolated build, installed into a fresh venv, started every way.

``make test`` runs this once (not on each build of the suite).  The sdist and the wheel are built
as ``python -m build`` builds them (the wheel from the sdist, each in an isolated environment),
with the C compiler (the compiled hot path) and without one (``CC`` naming no compiler: pure
Python).  Each wheel goes into a venv of its own with only its runtime dependencies, and the app
of smoke_app.py, run from outside the repository, answers the official Node client and
python-socketio's under ``socketio.run``, the ``surge`` command and gunicorn's SurgeWorker.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import socketio

from tests.conftest import ServerProcess, run_node

ROOT = Path(__file__).resolve().parents[2]
SMOKE = Path(__file__).parent / "smoke_app.py"
TYPED = Path(__file__).parent / "typed_app.py"
COMPILED = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["surge"]["compiled"]
pytestmark = pytest.mark.timeout(1200)  # the builds and installs come first: minutes, not the suite's 60 s
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SURGE_BUILD", "SURGE_PURE")}


def built(out: Path, compiler: bool) -> Path:
    """The wheel ``python -m build`` makes from the sdist (isolated), with or without a C compiler."""
    env = dict(CLEAN_ENV) if compiler else dict(CLEAN_ENV, CC="no-such-compiler")
    run = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    (sdist,) = out.glob("surge-*.tar.gz")
    (wheel,) = out.glob("surge-*.whl")
    assert sdist.stat().st_size > 0
    return wheel


def venv_with(wheel: Path, where: Path) -> Path:
    """A fresh venv holding ``wheel`` with the gunicorn extra and nothing of the repository's."""
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=120)
    pip = [str(where / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, f"{wheel}[gunicorn]"], check=True, env=CLEAN_ENV, timeout=600)
    return where


@pytest.fixture(scope="module", params=["compiled", "pure"])
def installed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    out = tmp_path_factory.mktemp(f"dist-{request.param}")
    wheel = built(out, compiler=request.param == "compiled")
    assert wheel.name.endswith("-py3-none-any.whl") == (request.param == "pure"), wheel.name
    yield request.param, venv_with(wheel, tmp_path_factory.mktemp(f"venv-{request.param}"))


def test_the_hot_path_is_compiled_where_a_compiler_was(installed: tuple[str, Path]) -> None:
    build, venv = installed
    probe = "import importlib, sys; print('\\n'.join(importlib.import_module(m).__file__ for m in sys.argv[1:]))"
    run = subprocess.run(
        [str(venv / "bin" / "python"), "-c", probe, *COMPILED],
        capture_output=True,
        text=True,
        env=CLEAN_ENV,
        cwd=venv,
        check=True,
    )
    files = run.stdout.split()
    assert len(files) == len(COMPILED) and all(f.startswith(str(venv)) for f in files), files
    assert all(f.endswith(".so") == (build == "compiled") for f in files), files


def test_users_type_checkers_see_the_annotations_and_the_command_its_version(installed: tuple[str, Path]) -> None:
    _, venv = installed
    mypy = [sys.executable, "-m", "mypy", "--strict", "--no-incremental"]
    check = subprocess.run(
        [*mypy, "--python-executable", str(venv / "bin" / "python"), str(TYPED)],
        capture_output=True,
        text=True,
        env=CLEAN_ENV,
        cwd=venv,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    shown = subprocess.run([str(venv / "bin" / "surge"), "--version"], capture_output=True, text=True, env=CLEAN_ENV)
    assert shown.stdout.strip() == f"surge {version}"


def start_ways(venv: Path) -> dict[str, list[str]]:
    """The commands that serve smoke_app.py on $PORT, run from its folder, without the repository's paths."""
    clean = ["env", "-u", "PYTHONPATH", "-u", "SURGE_BUILD", "-u", "SURGE_PURE"]
    bin_ = venv / "bin"
    return {
        "socketio.run": [*clean, str(bin_ / "python"), str(SMOKE)],
        "surge command": [*clean, "sh", "-c", f'exec {bin_ / "surge"} smoke_app:app --host 127.0.0.1 --port "$PORT"'],
        "gunicorn": [
            *clean,
            "sh",
            "-c",
            f'exec {bin_ / "gunicorn"} -k surge.workers.SurgeWorker -b "127.0.0.1:$PORT" smoke_app:app',
        ],
    }


@pytest.mark.parametrize("way", ["socketio.run", "surge command", "gunicorn"])
def test_an_app_on_the_installed_surge_answers_the_official_clients(installed: tuple[str, Path], way: str) -> None:
    build, venv = installed
    server = ServerProcess(SMOKE, cwd=SMOKE.parent, command=start_ways(venv)[way])
    try:
        echo = run_node("echo", server.url)
        assert all(echo["results"]) and echo["transport"] == "websocket", echo
        with socketio.SimpleClient() as client:
            client.connect(server.url)
            compiled, where = client.call("build", timeout=10)
            assert compiled == (build == "compiled") and where.startswith(str(venv)), where
            assert client.call("echo", {"a": [1, "2"]}, timeout=10) == {"a": [1, "2"]}
            client.emit("shout", "hi")
            assert client.receive(timeout=10) == ["shouted", "hi"]
    finally:
        server.stop()
