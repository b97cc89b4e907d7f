"""The ``surge`` command: serve a Flask (or any WSGI) app with Socket.IO on one port.

    surge module:app [--host 127.0.0.1] [--port 5000]
    surge path/to/app.py[:app] [--port 5000] [--workers N|auto]

``module:app`` (or a file) names the Flask app (or a ``SocketIO`` object).  An app that was
set up with ``SocketIO(app)`` is served with that Socket.IO server; a plain WSGI
app gets a Socket.IO server with no handlers.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

import surge
from surge.flask import SocketIO


def load(target: str) -> Any:
    """Import ``module:attr`` or ``file.py:attr`` (``attr`` defaults to ``app``)."""
    module_name, _, attr = target.partition(":")
    if module_name.endswith(".py"):
        path = Path(module_name).resolve()
        if not path.is_file():
            raise SystemExit(f"surge: no such file {module_name}")
        sys.path.insert(0, str(path.parent))
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module  # so Flask finds the app's folder (templates, static)
        spec.loader.exec_module(module)
    else:
        sys.path.insert(0, os.getcwd())
        module = importlib.import_module(module_name)
    try:
        return getattr(module, attr or "app")
    except AttributeError:
        raise SystemExit(f"surge: {module_name} has no attribute {attr or 'app'!r}") from None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="surge", description="Serve a Flask app with Socket.IO on one port.")
    parser.add_argument("--version", action="version", version=f"surge {surge.__version__}")
    parser.add_argument("app", help="module:attribute of the Flask app or SocketIO object")
    parser.add_argument("--host", default=os.environ.get("SURGE_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    parser.add_argument("--certfile", help="serve HTTPS and WSS with this certificate (PEM)")
    parser.add_argument("--keyfile", help="its private key (PEM), if not in the certificate file")
    parser.add_argument(
        "--workers", default="1", help="processes serving the port as one server, or 'auto' (one per core)"
    )
    args = parser.parse_args(argv)
    try:
        socketio, app = socketio_of(load(args.app))
    except TypeError as exc:
        raise SystemExit(f"surge: {exc}") from None
    socketio.run(
        app, host=args.host, port=args.port, certfile=args.certfile, keyfile=args.keyfile, workers=args.workers
    )


def socketio_of(target: Any) -> tuple[SocketIO, Any]:
    """The ``SocketIO`` to serve and its app, for a Flask app (or any WSGI app) or a ``SocketIO`` object."""
    if isinstance(target, SocketIO):
        if target.app is None:
            raise TypeError("this SocketIO has no app: create it with SocketIO(app) or call init_app(app)")
        return target, target.app
    if not callable(target):
        raise TypeError(f"{target!r} is neither a WSGI app nor a SocketIO")
    extensions = getattr(target, "extensions", {})
    return extensions.get("socketio") or SocketIO(target), target


if __name__ == "__main__":
    main()
