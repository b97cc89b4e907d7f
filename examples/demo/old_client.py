"""The echo page as old tutorials wrote it, with the socket.io.js 2.x (or 1.x) client.

Those clients speak Engine.IO v3 / Socket.IO v4; Surge answers them on the same
endpoint as the current client.  The old client files come from the npm packages
the set-up installs (no CDN).
"""

from pathlib import Path

from flask import Blueprint, abort, render_template, send_file

ABOUT = {
    "url": "/old-client",
    "title": "Old client (2.x, 1.x)",
    "text": "The echo page loading socket.io.js 2.x or 1.x, as 2016-2020 tutorials did.",
}
bp = Blueprint("old_client", __name__)
ROOT = Path(__file__).resolve().parents[2]
CLIENTS = {"2": "socket.io-client-v2", "1": "socket.io-client-v1"}


def init(app, socketio):
    app.register_blueprint(bp)


@bp.route("/old-client")
@bp.route("/old-client/<version>")
def page(version="2"):
    if version not in CLIENTS:
        abort(404)
    return render_template("old_client.html", version=version)


@bp.route("/old-client/socket.io-<version>.js")
def client_js(version):
    if version not in CLIENTS:
        abort(404)
    path = ROOT / "node_modules" / CLIENTS[version] / "dist" / "socket.io.js"
    if not path.is_file():
        abort(404, "run `npm ci` in the repository to install the old clients")
    return send_file(path, mimetype="application/javascript")
