"""A raw Engine.IO echo server at /engine.io (no Socket.IO layer), for the integration tests."""

import os

from surge.engineio import EngineIO

eio = EngineIO(path="/engine.io", ping_interval=float(os.environ.get("PING_INTERVAL", "25")))
seen: dict[str, int] = {}


@eio.on("connect")
def connect(sid, environ):
    if "refuse=1" in environ.get("QUERY_STRING", ""):
        return False
    seen[sid] = 0
    eio.send(sid, "hello " + sid)


@eio.on("message")
def message(sid, data):
    seen[sid] = seen.get(sid, 0) + 1
    eio.send(sid, data)  # echo, text or binary as it came


@eio.on("disconnect")
async def disconnect(sid, reason):
    seen.pop(sid, None)


if __name__ == "__main__":
    eio.run(host="127.0.0.1", port=int(os.environ["PORT"]))
