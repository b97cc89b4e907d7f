"""Find the official browser client (``socket.io.min.js``) to serve at ``/socket.io/socket.io.js``.

Surge does not ship a copy: it serves the file of the ``socket.io-client`` npm
package the project installed, or a file the user names with the ``client_js``
option or the ``SURGE_CLIENT_JS`` environment variable.
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
    for root in roots:
        for folder in (Path(root).resolve(), *Path(root).resolve().parents):
            for name in NAMES:
                if (folder / DIST / name).is_file():
                    return folder / DIST / name
    return None
