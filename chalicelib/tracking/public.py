"""The public tracking view: status, ETA, timeline, first name and city, never more."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.order import Order, TimelineEvent


def public_view(order: Order, timeline: list[TimelineEvent]) -> dict[str, Any]:
    """Only what a stranger holding the tracking code may see: no street, postcode, email,
    phone or last name."""
    delivery: dict[str, Any] = {"type": str(order.delivery.type)}
    if order.delivery.locker_id:
        delivery["locker"] = {"locker_id": order.delivery.locker_id}
    if order.delivery.window:
        delivery["window"] = {
            "start": order.delivery.window.start,
            "end": order.delivery.window.end,
        }
    view: dict[str, Any] = {
        "status": str(order.status),
        "events": [{"status": str(e.status), "at": e.at} for e in timeline],
        "first_name": order.customer.first_name,
        "city": order.address.city,
        "delivery": delivery,
    }
    if order.eta:
        view["eta"] = order.eta
    return view
