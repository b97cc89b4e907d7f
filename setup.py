"""The build: the hot path compiled with mypyc when a C compiler is there, pure Python otherwise.

The modules are ``[tool.surge] compiled`` in pyproject.toml; they are the same source either
way (the suite runs on both builds).  ``SURGE_PURE=1`` builds pure Python on any machine: the
editable install of ``make setup`` uses it, so an edit to ``src/`` is what runs.
"""

from __future__ import annotations

import os
import shutil
import sysconfig
import tomllib
from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).parent


def compiled_modules() -> list[str]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return list(tomllib.load(file)["tool"]["surge"]["compiled"])


def has_c_compiler() -> bool:
    command = sysconfig.get_config_var("CC") or "cc"
    return shutil.which(command.split()[0]) is not None


def extensions() -> list[object]:
    if os.environ.get("SURGE_PURE") == "1" or not has_c_compiler():
        return []
    from mypyc.build import mypycify

    paths = ["src/" + name.replace(".", "/") + ".py" for name in compiled_modules()]
    # Missing imports are typed Any: an isolated build has mypy but not Flask or orjson.
    return list(mypycify(["--ignore-missing-imports", *paths], opt_level="3"))


setup(ext_modules=extensions())
