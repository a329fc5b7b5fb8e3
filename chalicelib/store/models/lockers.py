"""Lockers, compartments, held parcels, pickup codes and kiosk attempts."""

from __future__ import annotations
