"""Chat rooms: join/leave, "X has entered the room", messages to the room, a member list."""

import threading

from flask import Blueprint, render_template, request, session

from surge import emit, join_room, leave_room

ABOUT = {"url": "/chat", "title": "Chat rooms", "text": "Join a room, see who is in it, talk to everyone there."}
bp = Blueprint("chat", __name__)
# room -> {sid: name}, for the member lists (this process's members; see the README for clusters)
members: dict[str, dict[str, str]] = {}
lock = threading.Lock()


def _member_list(room):
    with lock:
        return sorted(members.get(room, {}).values())


def _leave(sid):
    room, name = session.get("chat_room"), session.get("chat_name")
    if not room:
        return
    with lock:
        members.get(room, {}).pop(sid, None)
    leave_room(room)
    session["chat_room"] = None
    emit("status", {"msg": f"{name} has left the room."}, to=room)
    emit("members", _member_list(room), to=room)


def init(app, socketio):
    app.register_blueprint(bp)

    @socketio.on("join", namespace="/chat")
    def join(data):
        name = str(data.get("name", "")).strip()[:40]
        room = str(data.get("room", "")).strip()[:40]
        if not name or not room:
            return {"error": "a name and a room, please"}
        _leave(request.sid)
        session["chat_name"], session["chat_room"] = name, room
        join_room(room)
        with lock:
            members.setdefault(room, {})[request.sid] = name
        emit("status", {"msg": f"{name} has entered the room."}, to=room)
        emit("members", _member_list(room), to=room)
        return {"room": room}

    @socketio.on("text", namespace="/chat")
    def text(data):
        room = session.get("chat_room")
        if room:
            emit("message", {"name": session.get("chat_name"), "msg": str(data.get("msg", ""))[:500]}, to=room)

    @socketio.on("leave", namespace="/chat")
    def leave():
        _leave(request.sid)

    @socketio.on("disconnect", namespace="/chat")
    def disconnect(reason):
        _leave(request.sid)


@bp.route("/chat")
def page():
    return render_template("chat.html")
