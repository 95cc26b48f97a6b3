"""Integrity programme (not built yet): its models, services, selectors and handlers will live here,
below `reporting` and above `assessment` (see docs/architecture.md)."""
