"""The echo app served as ASGI under uvicorn (the slower, documented path)."""

import os

import uvicorn
from echo_app import socketio

app = socketio.asgi_app()

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning")
