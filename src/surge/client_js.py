"""Find the files of npm packages Surge serves: the browser client and the Admin UI.

Surge does not ship copies: it serves the files of the ``socket.io-client`` and
``@socket.io/admin-ui`` (and ``@mdi/font``, its icons) npm packages the project installed (found in a
``node_modules`` folder above the working directory or the app), or a path the
user names with an option or an environment variable.
"""

from __future__ import annotations

import os
from pathlib import Path

DIST = Path("node_modules") / "socket.io-client" / "dist"
NAMES = ("socket.io.min.js", "socket.io.js")
MISSING = (
    "No socket.io.js to serve at /socket.io/socket.io.js: run `npm install socket.io-client` in your "
    "project, or name the file with SocketIO(app, client_js=...) or the SURGE_CLIENT_JS environment variable"
)
ADMIN_UI = Path("node_modules") / "@socket.io" / "admin-ui" / "ui" / "dist"
ICONS = Path("node_modules") / "@mdi" / "font"
ADMIN_UI_MISSING = (
    "No Admin UI to serve: run `npm install @socket.io/admin-ui` in your project, or name its ui/dist "
    "folder with instrument(ui_files=...) or the SURGE_ADMIN_UI environment variable"
)


def find_client_js(option: str | os.PathLike[str] | None, *roots: str | os.PathLike[str]) -> Path | None:
    """The client file: the option, else the environment, else ``node_modules`` above ``roots``."""
    given = option or os.environ.get("SURGE_CLIENT_JS")
    if given:
        path = Path(given)
        if path.is_dir():
            path = next((path / name for name in NAMES if (path / name).is_file()), path / NAMES[0])
        if not path.is_file():
            raise FileNotFoundError(f"client_js: no such file {path}")
        return path
    return _above(roots, *(DIST / name for name in NAMES))


def find_admin_ui(option: str | os.PathLike[str] | None, *roots: str | os.PathLike[str]) -> Path | None:
    """The Admin UI's folder (with its index.html): the option, else the environment, else ``node_modules``."""
    given = option or os.environ.get("SURGE_ADMIN_UI")
    if given:
        path = Path(given)
        if not (path / "index.html").is_file():
            raise FileNotFoundError(f"ui_files: no index.html in {path}")
        return path
    found = _above(roots, ADMIN_UI / "index.html")
    return found.parent if found is not None else None


def find_admin_icons(*roots: str | os.PathLike[str]) -> Path | None:
    """The ``@mdi/font`` package's folder, whose icons the Admin UI's page loads from a CDN otherwise."""
    found = _above(roots, ICONS / "css" / "materialdesignicons.min.css")
    return found.parents[1] if found is not None else None


def _above(roots: tuple[str | os.PathLike[str], ...], *relatives: Path) -> Path | None:
    """The first of ``relatives`` in the nearest folder above (or at) one of ``roots`` that has one."""
    for root in roots:
        for folder in (Path(root).resolve(), *Path(root).resolve().parents):
            for relative in relatives:
                if (folder / relative).is_file():
                    return folder / relative
    return None
