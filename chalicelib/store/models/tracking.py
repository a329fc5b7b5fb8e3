"""Customer feedback and rate-limit windows."""

from __future__ import annotations
