"""Reconcile cursors per merchant and platform."""

from __future__ import annotations
