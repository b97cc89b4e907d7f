"""The echo app served as ASGI (the slower, documented path): under uvicorn, or hypercorn with ASGI_SERVER=hypercorn."""

import os

from echo_app import socketio

app = socketio.asgi_app()

if __name__ == "__main__":
    port = int(os.environ["PORT"])
    if os.environ.get("ASGI_SERVER") == "hypercorn":
        import asyncio

        from hypercorn.asyncio import serve
        from hypercorn.config import Config

        config = Config()
        config.bind = [f"127.0.0.1:{port}"]
        config.loglevel = "WARNING"
        asyncio.run(serve(app, config))  # type: ignore[arg-type]
    else:
        import uvicorn

        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
