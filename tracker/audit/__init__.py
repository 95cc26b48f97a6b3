"""Audit: the event log every context writes to (hash-chained, append-only), the registry of the
handlers that turn events into side effects, their dispatch after commit and the relay.

The bottom of the domain: it imports no other context. Contexts register their handlers here
(`registry.handles`) from their own `handlers` module, imported by `TrackerConfig.ready()`.
"""
