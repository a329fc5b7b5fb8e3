"""How an order looks to the merchant who owns it."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from chalicelib.domain.order import Order, TimelineEvent


def tracking_url(base_url: str, order: Order) -> str:
    return f"{base_url}/track/{order.tracking_code}"


def merchant_view(
    order: Order, base_url: str, timeline: list[TimelineEvent] | None = None
) -> dict[str, Any]:
    data = asdict(order)
    data.pop("version", None)
    view = {k: v for k, v in data.items() if v is not None}
    view["status"] = str(order.status)
    view["delivery"] = {k: v for k, v in data["delivery"].items() if v is not None}
    view["tracking_url"] = tracking_url(base_url, order)
    if timeline is not None:
        view["timeline"] = [{k: v for k, v in asdict(e).items() if v is not None} for e in timeline]
    return view
