"""Sans-I/O codecs for Engine.IO v3/v4 and Socket.IO v4/v5.

Pure functions and small state machines: bytes and strings in, packets out.
Nothing here imports asyncio, sockets, threads, clocks, Flask or the rest of Surge
(a CI check enforces it).
"""
