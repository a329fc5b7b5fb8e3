"""How an order is reached from outside: its public tracking link (the merchant's reply is
api/replies.py OrderOut)."""

from __future__ import annotations

from chalicelib.domain.order import Order


def tracking_url(base_url: str, order: Order) -> str:
    return f"{base_url}/track/{order.tracking_code}"
