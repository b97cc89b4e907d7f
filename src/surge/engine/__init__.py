"""Engine.IO sessions: handshake data, polling outbox, upgrade, heartbeat, close.

Still no I/O: the runtime passes the time in and takes packets and events out.
"""
