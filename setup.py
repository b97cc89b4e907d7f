"""The build: the hot path compiled with mypyc when a C compiler is there, pure Python otherwise.

The modules are ``[tool.surge] compiled`` in pyproject.toml; they are the same source either
way (the suite runs on both builds).  ``SURGE_PURE=1`` builds pure Python on any machine: the
editable install of ``make setup`` uses it, so an edit to ``src/`` is what runs.  A compiler is
the one ``CC`` names, else the one Python was built with.

pip builds in an isolated environment with what pyproject.toml's build-system requires: mypy,
and the dependencies the compiled modules need the types of (Flask, websockets, orjson), but not
redis or prometheus_client, whose types are then unknown (Any).  The project's own mypy settings
(strict for the protocol and engine layers, unused ignores as errors) would refuse that, so the
build type-checks with mypy's defaults (``make lint`` checks the types with every dependency
installed).  Where the compiler fails on a module, setuptools goes on without it (the extensions
are optional) and the Python source of that module is what runs.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
import tempfile
import tomllib
from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).parent
BUILD_MYPY_CONFIG = "[mypy]\nignore_missing_imports = True\n"


def compiled_modules() -> list[str]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return list(tomllib.load(file)["tool"]["surge"]["compiled"])


def has_c_compiler() -> bool:
    command = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    return shutil.which(command.split()[0]) is not None


def building() -> bool:
    """Whether setup.py runs to build (not for an sdist or the metadata, which need no compiling)."""
    return any(command in sys.argv for command in ("bdist_wheel", "build_ext", "build", "install", "editable_wheel"))


def extensions() -> list[object]:
    if os.environ.get("SURGE_PURE") == "1" or not has_c_compiler() or not building():
        return []
    from mypyc.build import mypycify

    paths = ["src/" + name.replace(".", "/") + ".py" for name in compiled_modules()]
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "mypy.ini"
        config.write_text(BUILD_MYPY_CONFIG)
        built = list(mypycify(["--config-file", str(config), *paths], opt_level="3"))
    for extension in built:
        extension.optional = True  # a module the compiler fails on stays Python
    return built


setup(ext_modules=extensions())
