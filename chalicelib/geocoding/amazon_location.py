"""Amazon Location Service (`geo-places` Geocode) as the geocoder."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.order import Address
from chalicelib.geocoding import Located, NotLocated

# A match below this is too vague (a town or a postcode district) to drive a van to.
MIN_SCORE = 0.8


class AmazonLocationGeocoder:
    def __init__(self, client: Any) -> None:
        self._client = client

    def locate(self, address: Address) -> Located | NotLocated:
        query = ", ".join(
            part
            for part in (
                address.line1,
                address.line2,
                address.city,
                address.postcode,
                address.country,
            )
            if part
        )
        try:
            reply = self._client.geocode(QueryText=query, MaxResults=1)
        except (ClientError, BotoCoreError) as exc:
            return NotLocated(f"geocoder unavailable: {type(exc).__name__}")
        items = reply.get("ResultItems") or []
        if not items:
            return NotLocated("geocoder found no such address")
        best = items[0]
        score = (best.get("MatchScores") or {}).get("Overall")
        if score is not None and score < MIN_SCORE:
            return NotLocated(f"geocoder match too vague ({score:.2f})")
        lng, lat = best["Position"]
        return Located(lat=float(lat), lng=float(lng))
