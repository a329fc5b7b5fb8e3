"""Fulfilment report-back claims."""

from __future__ import annotations
