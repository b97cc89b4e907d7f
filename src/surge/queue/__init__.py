"""Scaling past one process: the message schema between Surge processes and the Redis pub/sub transport."""
