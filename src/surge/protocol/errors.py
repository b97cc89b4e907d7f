"""Protocol errors, the root of Surge's exception tree (protocol layer).

They live here, not in ``surge.errors``, because the protocol layer imports
nothing else of Surge; ``surge.errors`` re-exports them.
"""

from __future__ import annotations


class SurgeError(Exception):
    """Base class of every error Surge raises."""


class ProtocolError(SurgeError):
    """A protocol rule was broken."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something the protocol does not allow.

    Decoders raise only this for bad input, so a server can catch it, close that
    one connection and carry on.
    """


class LocalProtocolError(ProtocolError):
    """This side misused the protocol API (a bug in the caller)."""
