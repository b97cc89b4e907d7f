"""The ``surge`` command: serve a Flask (or any WSGI) app with Socket.IO on one port.

    surge module:app [--host 127.0.0.1] [--port 5000]

``module:app`` names the Flask app (or a ``SocketIO`` object).  An app that was
set up with ``SocketIO(app)`` is served with that Socket.IO server; a plain WSGI
app gets a Socket.IO server with no handlers.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any

from surge.flask import SocketIO


def load(target: str) -> Any:
    """Import ``module:attr`` (``attr`` defaults to ``app``), with the current directory on the path."""
    module_name, _, attr = target.partition(":")
    sys.path.insert(0, os.getcwd())
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attr or "app")
    except AttributeError:
        raise SystemExit(f"surge: {module_name} has no attribute {attr or 'app'!r}") from None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="surge", description="Serve a Flask app with Socket.IO on one port.")
    parser.add_argument("app", help="module:attribute of the Flask app or SocketIO object")
    parser.add_argument("--host", default=os.environ.get("SURGE_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    args = parser.parse_args(argv)
    target = load(args.app)
    if isinstance(target, SocketIO):
        socketio, app = target, target.app
    else:
        app = target
        extensions = getattr(app, "extensions", {})
        socketio = extensions.get("socketio") or SocketIO(app)
    socketio.run(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
