"""Merchants, depots, fleets and API keys."""

from __future__ import annotations
