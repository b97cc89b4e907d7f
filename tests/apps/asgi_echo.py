"""The echo app served as ASGI (the slower, documented path): under uvicorn, or hypercorn with ASGI_SERVER=hypercorn."""

import os

from asgi_serve import serve
from echo_app import socketio

app = socketio.asgi_app()

if __name__ == "__main__":
    serve(app, int(os.environ["PORT"]))
