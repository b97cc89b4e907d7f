"""asyncio: the built-in HTTP/WebSocket server, the WSGI bridge, the worker pool (runtime layer)."""
