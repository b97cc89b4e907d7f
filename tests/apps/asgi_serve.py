"""Serve an ASGI app under the server ASGI_SERVER names (uvicorn by default, or hypercorn), for the test apps."""

import os
from typing import Any


def serve(app: Any, port: int) -> None:
    if os.environ.get("ASGI_SERVER") == "hypercorn":
        import asyncio

        from hypercorn.asyncio import serve as hypercorn_serve
        from hypercorn.config import Config

        config = Config()
        config.bind = [f"127.0.0.1:{port}"]
        config.loglevel = "WARNING"
        asyncio.run(hypercorn_serve(app, config))
    else:
        import uvicorn

        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
