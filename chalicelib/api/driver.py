"""Driver API (the route's driver token as Bearer): the route read back (the operator's key
opens it too), events along the route, proof uploads."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from chalice import Blueprint
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from chalicelib import bootstrap
from chalicelib.api.http import bearer, json_response, parse_body, route
from chalicelib.api.replies import ProofUploadOut, RouteEventOut
from chalicelib.domain.lifecycle import FAILURE_REASONS
from chalicelib.tracking.route_events import RouteEvent

driver = Blueprint(__name__)

STOP_EVENTS = ("arrived", "delivered", "failed", "deposited", "retrieved")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ProofIn(_In):
    recipient_name: str | None = Field(default=None, max_length=120)
    safe_place: str | None = Field(default=None, max_length=200)
    barcode: str | None = Field(default=None, max_length=200)
    signature_key: str | None = Field(default=None, max_length=300)
    photo_key: str | None = Field(default=None, max_length=300)


Label = Annotated[str, Field(min_length=1, max_length=64)]


class RouteEventIn(_In):
    type: Literal[
        "scanned",
        "departed",
        "arrived",
        "delivered",
        "failed",
        "deposited",
        "retrieved",
        "location",
    ]
    event_id: str | None = Field(default=None, min_length=1, max_length=128)
    order_id: str | None = Field(default=None, max_length=64)
    at: AwareDatetime | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lng: float | None = Field(default=None, ge=-180, le=180)
    reason: Literal[FAILURE_REASONS] | None = None  # type: ignore[valid-type]
    proof: ProofIn | None = None
    locker_id: str | None = Field(default=None, max_length=64)
    label: Label | None = Field(default=None, description="scanned: the parcel's label")
    labels: list[Label] | None = Field(
        default=None, max_length=100, description="delivered: the parcel labels scanned at the door"
    )

    @model_validator(mode="after")
    def _what_each_type_needs(self) -> RouteEventIn:
        if self.type == "scanned" and not self.label:
            raise ValueError("label: required for scanned")
        if self.type in STOP_EVENTS and not self.order_id:
            raise ValueError(f"order_id: required for {self.type}")
        if self.type == "failed" and not self.reason:
            raise ValueError(f"reason: required for failed, one of {', '.join(FAILURE_REASONS)}")
        if self.type == "location" and (self.lat is None or self.lng is None):
            raise ValueError("lat and lng: required for location")
        return self

    def to_event(self) -> RouteEvent:
        # The phone's time as it sent it (its offset kept: year 9999 west of UTC has no UTC
        # spelling); the service judges the clock and records what it can trust.
        at = self.at.isoformat() if self.at else None
        proof = self.proof.model_dump(exclude_none=True) if self.proof else None
        return RouteEvent(
            self.type,
            at,
            self.event_id,
            self.order_id,
            self.lat,
            self.lng,
            self.reason,
            proof,
            self.locker_id,
            self.label,
            tuple(self.labels) if self.labels is not None else None,
        )


class ProofUploadIn(_In):
    order_id: str = Field(min_length=1, max_length=64)
    kind: Literal["photo", "signature"] = "photo"
    content_type: Literal["image/jpeg", "image/png", "image/webp"] = "image/jpeg"


# Each route authenticates before it reads the body: a wrong token is a 401 whatever it sent
# (malformed, huge), and nobody without one costs a parse.


@route(driver, "/v1/routes/{route_id}", methods=["GET"])
def get_route(route_id: str) -> Any:
    """The route's current stops (a live re-plan changes them): the app re-reads after every
    event it posts."""
    token = bearer(driver.current_request)
    return json_response(bootstrap.route_views().read(route_id, token))


@route(driver, "/v1/routes/{route_id}/events", methods=["POST"])
def post_route_event(route_id: str) -> Any:
    events = bootstrap.route_events()
    token = bearer(driver.current_request)
    events.authenticate(route_id, token)
    body = parse_body(driver.current_request, RouteEventIn)
    result = events.record(route_id, token, body.to_event())
    return json_response(RouteEventOut.of(result).body(), status=202)


@route(driver, "/v1/routes/{route_id}/proof-uploads", methods=["POST"])
def post_proof_upload(route_id: str) -> Any:
    """A presigned S3 POST for a proof-of-delivery photo or signature; its key goes into the
    delivered event's proof."""
    events = bootstrap.route_events()
    token = bearer(driver.current_request)
    events.authenticate(route_id, token)
    body = parse_body(driver.current_request, ProofUploadIn)
    upload = events.proof_upload(route_id, token, body.order_id, body.kind, body.content_type)
    return json_response(ProofUploadOut.of(upload).body(), status=201)
