"""The public tracking view: status, ETA, timeline, first name and city, never more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain.order import Order, TimelineEvent

ETA_SPREAD = timedelta(minutes=30)  # customers are promised a window, never a minute


def eta_window(eta: str) -> tuple[datetime, datetime]:
    """The window shown around a planned ETA: 30 minutes either side, in UTC."""
    moment = datetime.fromisoformat(eta)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment - ETA_SPREAD, moment + ETA_SPREAD


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def public_view(
    order: Order, timeline: list[TimelineEvent], *, stops_before: int | None = None
) -> dict[str, Any]:
    """Only what a stranger holding the tracking code may see: no street, postcode, email,
    phone or last name. `stops_before` is how many stops the van visits first, when known."""
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
        start, end = eta_window(order.eta)
        view["eta_window"] = {"start": _iso(start), "end": _iso(end)}
    if stops_before is not None:
        view["stops_before"] = stops_before
    return view
