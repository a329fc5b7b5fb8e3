"""How an order looks to the merchant who owns it."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from chalicelib.domain.order import Order, TimelineEvent


def tracking_url(base_url: str, order: Order) -> str:
    return f"{base_url}/track/{order.tracking_code}"


def _compact(value: Any) -> Any:
    """The value without its empty (None) fields, at every depth."""
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_compact(v) for v in value]
    return value


def merchant_view(
    order: Order, base_url: str, timeline: list[TimelineEvent] | None = None
) -> dict[str, Any]:
    view: dict[str, Any] = _compact(asdict(order))
    view.pop("version", None)
    start, end = view.pop("eta_from", None), view.pop("eta_to", None)
    if order.eta and start and end:
        view["eta_window"] = {"start": start, "end": end}  # told with the ETA
    view["tracking_url"] = tracking_url(base_url, order)
    if order.carrier is not None:
        view["carrier"] = order.carrier.view()  # the courier's position is for the page only
    if timeline is not None:
        view["timeline"] = [_compact(asdict(e)) for e in timeline]
    return view
