"""Socket.IO server semantics: namespaces, rooms, emit routing, acks (server layer)."""
