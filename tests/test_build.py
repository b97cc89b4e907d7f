"""The build under test: ``make test`` runs the suite on the Python source, then on the compiled one.

``SURGE_BUILD=compiled`` (with ``PYTHONPATH`` the absolute path of build/compiled) says the run is the second: every
module pyproject.toml lists for mypyc must then be an extension, else the run tests the source twice.
"""

from __future__ import annotations

import importlib
import os
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_hot_path_is_the_build_this_run_was_asked_for() -> None:
    compiled = os.environ.get("SURGE_BUILD", "pure") == "compiled"
    with (ROOT / "pyproject.toml").open("rb") as file:
        names = tomllib.load(file)["tool"]["surge"]["compiled"]
    assert names
    for name in names:
        origin = str(importlib.import_module(name).__file__)
        assert origin.endswith(".so") == compiled, origin
        assert origin.startswith(str(ROOT / ("build/compiled" if compiled else "src"))), origin
