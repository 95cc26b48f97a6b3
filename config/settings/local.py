"""The embedded demo and local development."""

from .base import *  # noqa: F403
