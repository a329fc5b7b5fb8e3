"""The window a customer is told around an ETA: half an hour either side, but never starting
before the van can be there (a window that opens in the past promises nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.times import iso_z, parse_iso

ETA_SPREAD = timedelta(minutes=30)  # customers are promised a window, never a minute


def eta_window(eta: str, soonest: datetime | None = None) -> tuple[str, str]:
    """(start, end) in UTC: the ETA plus or minus ETA_SPREAD, the start not before `soonest`
    (when the van could be there at the earliest) nor after the ETA itself."""
    moment = parse_iso(eta)
    start = moment - ETA_SPREAD
    if soonest is not None:
        start = min(max(start, soonest), moment)
    return iso_z(start), iso_z(moment + ETA_SPREAD)


@dataclass(frozen=True)
class Told:
    """An ETA as an order is told it: the moment and its window (ISO 8601, UTC)."""

    eta: str
    start: str
    end: str

    @classmethod
    def around(cls, eta: str, soonest: datetime | None = None) -> Told:
        return cls(eta, *eta_window(eta, soonest))

    def fields(self) -> dict[str, Any]:
        """As an outbox message carries it (the customer's message and the merchant's webhook
        read the same two fields)."""
        return {"eta": self.eta, "eta_window": {"start": self.start, "end": self.end}}
