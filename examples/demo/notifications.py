"""Notifications: user A sends user B a message; every open tab of B shows it at once.

Notifications are stored in SQLite, so B sees what arrived while offline; reading
them clears the unread badge on all of B's tabs.  Each user's tabs share the room
``user:<name>``, so with a message queue this works across processes too.
"""

import sqlite3
import time
from contextlib import closing
from pathlib import Path

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for

from surge import emit, join_room

ABOUT = {
    "url": "/notifications",
    "title": "Notifications",
    "text": "Sign in as two users in two windows and send each other notifications: they appear at once, with an unread badge.",
}
bp = Blueprint("notifications", __name__)
SCHEMA = """CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT, recipient TEXT NOT NULL, sender TEXT NOT NULL,
    text TEXT NOT NULL, created REAL NOT NULL, read INTEGER NOT NULL DEFAULT 0)"""


def db():
    """A connection per call: handlers run in several threads (and processes)."""
    path = current_app.config["DEMO_DB"]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=10)
    conn.row_factory = sqlite3.Row
    conn.execute(SCHEMA)
    return conn


def _item(row):
    return {
        "id": row["id"],
        "from": row["sender"],
        "text": row["text"],
        "created": row["created"],
        "read": bool(row["read"]),
    }


def _unread(conn, user):
    return conn.execute("SELECT COUNT(*) FROM notifications WHERE recipient = ? AND read = 0", (user,)).fetchone()[0]


def init(app, socketio):
    app.register_blueprint(bp)

    @socketio.on("connect", namespace="/notifications")
    def connect():
        user = session.get("user")
        if not user:
            return False  # sign in first
        join_room("user:" + user)  # every tab of this user
        with closing(db()) as conn:
            rows = conn.execute(
                "SELECT * FROM notifications WHERE recipient = ? ORDER BY id DESC LIMIT 30", (user,)
            ).fetchall()
            emit("inbox", {"items": [_item(r) for r in rows], "unread": _unread(conn, user)})

    @socketio.on("notify", namespace="/notifications")
    def notify(data):
        sender = session.get("user")
        recipient = str(data.get("to", "")).strip()[:40]
        text = str(data.get("text", "")).strip()[:500]
        if not recipient or not text:
            return {"error": "a recipient and a message, please"}
        with closing(db()) as conn, conn:
            cursor = conn.execute(
                "INSERT INTO notifications (recipient, sender, text, created) VALUES (?, ?, ?, ?)",
                (recipient, sender, text, time.time()),
            )
            row = conn.execute("SELECT * FROM notifications WHERE id = ?", (cursor.lastrowid,)).fetchone()
            unread = _unread(conn, recipient)
        socketio.emit(
            "notification", {"item": _item(row), "unread": unread}, to="user:" + recipient, namespace="/notifications"
        )
        return {"ok": True}

    @socketio.on("read_all", namespace="/notifications")
    def read_all():
        user = session.get("user")
        with closing(db()) as conn, conn:
            conn.execute("UPDATE notifications SET read = 1 WHERE recipient = ?", (user,))
        socketio.emit("unread", {"unread": 0}, to="user:" + user, namespace="/notifications")


@bp.route("/notifications")
def page():
    return render_template("notifications.html", user=session.get("user"))


@bp.route("/notifications/signin", methods=["POST"])
def signin():
    name = request.form.get("name", "").strip()[:40]
    if name:
        session["user"] = name
    return redirect(url_for("notifications.page"))


@bp.route("/notifications/signout", methods=["POST"])
def signout():
    session.pop("user", None)
    return redirect(url_for("notifications.page"))
