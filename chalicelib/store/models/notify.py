"""The notification log: one item per message and channel."""

from __future__ import annotations
