"""Dispatch runs, routes, claims and locks."""

from __future__ import annotations
