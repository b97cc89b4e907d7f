"""Serve a differential app with one library: DIFF_LIB=flask_socketio|surge and PORT in the environment;
DIFF_APP=acting serves tests/differential/acting_app.py (the generator's) instead of app.py.

Flask-SocketIO runs as its docs' threading mode does (Werkzeug with simple-websocket).
"""

import importlib
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

APPS = {"app": "tests.differential.app", "acting": "tests.differential.acting_app"}

lib = importlib.import_module(os.environ["DIFF_LIB"])
app, socketio = importlib.import_module(APPS[os.environ.get("DIFF_APP", "app")]).build(lib)

if __name__ == "__main__":
    port = int(os.environ["PORT"])
    if lib.__name__ == "flask_socketio":
        socketio.run(app, host="127.0.0.1", port=port, allow_unsafe_werkzeug=True)
    else:
        socketio.run(app, host="127.0.0.1", port=port)
