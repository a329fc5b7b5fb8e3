"""Merchant API (merchant API key): create and read the merchant's own orders."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from chalice import Blueprint, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chalicelib import bootstrap
from chalicelib.api.http import bearer, json_response, parse_body, pdf_response, route
from chalicelib.api.paging import ListQuery, asked_page, list_query
from chalicelib.api.replies import (
    BrandReply,
    NotificationPreferencesOut,
    OrderOut,
    OrdersPage,
    ProofOut,
    SentMessagesOut,
    WebhookEndpointCreated,
    WebhookEndpointOut,
    WebhookEndpointsPage,
)
from chalicelib.config import settings
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import MAX_EVENT_ID_BYTES, Address, OrderMessage, check_id
from chalicelib.domain.tenancy import Brand, is_https_url
from chalicelib.domain.times import iso_z
from chalicelib.intake.canonical import AddressIn, CanonicalOrder
from chalicelib.orders.service import Action, Inbound, Outcome
from chalicelib.request_bodies import Moment
from chalicelib.store.orders import OrderQuery
from chalicelib.tracking.live_eta import with_live_eta

merchant_api = Blueprint(__name__)

MAX_EXTERNAL_ID = 128  # the canonical order's limit: no order has a longer one


def _merchant() -> Any:
    return bootstrap.accounts().authenticate_merchant(bearer(merchant_api.current_request))


@route(merchant_api, "/v1/orders", methods=["POST"])
def create_order() -> Any:
    merchant = _merchant()
    request = merchant_api.current_request
    key = request.headers.get("idempotency-key")
    if key is not None:
        key = check_id(key, field="Idempotency-Key", max_bytes=MAX_EVENT_ID_BYTES)
    order = parse_body(request, CanonicalOrder)
    inbound = Inbound(
        source="api",
        action=Action.UPSERT,
        external_id=order.external_id,
        draft=order.to_draft(),
        event_id=key,
        source_updated_at=order.source_updated_at,
    )
    result = bootstrap.orders().ingest(merchant, inbound)
    assert result.order is not None
    status = 201 if result.outcome is Outcome.CREATED else 200
    reply = OrderOut.of(result.order, settings().public_base_url)
    return json_response(reply.body(), status=status)


class OrdersQuery(ListQuery):
    status: OrderStatus | None = Field(default=None, description="only orders in this status")
    external_id: str | None = Field(
        default=None, max_length=MAX_EXTERNAL_ID, description="the storefront's order id"
    )
    created_from: Moment | None = Field(default=None, description="created at or after")
    created_to: Moment | None = Field(default=None, description="created before")

    @model_validator(mode="after")
    def _a_range_goes_forward(self) -> OrdersQuery:
        if self.created_from and self.created_to and self.created_to <= self.created_from:
            raise ValueError("created_to: after created_from")
        return self

    def to_query(self) -> OrderQuery:
        def stored(moment: datetime | None) -> str | None:
            return iso_z(moment, "milliseconds") if moment else None  # as orders store theirs

        return OrderQuery(
            status=str(self.status) if self.status else None,
            external_id=self.external_id,
            created_from=stored(self.created_from),
            created_to=stored(self.created_to),
        )


@route(merchant_api, "/v1/orders", methods=["GET"])
def list_orders() -> Any:
    """The merchant's orders, newest first, a page at a time (`orders` is `items` again, the
    key this list answered with before it paged)."""
    merchant = _merchant()
    query = list_query(merchant_api.current_request, OrdersQuery)
    owner = merchant.merchant_id
    orders, cursor = asked_page(
        query,
        "orders",
        owner,
        lambda *, limit, start: bootstrap.orders().page(
            merchant, query.to_query(), limit=limit, start=start
        ),
    )
    base = settings().public_base_url
    views = [OrderOut.of(o, base) for o in orders]
    return json_response(OrdersPage(items=views, orders=views, next_cursor=cursor).body())


@route(merchant_api, "/v1/orders/{order_id}/cancel", methods=["POST"])
def cancel_order(order_id: str) -> Any:
    """Cancel the merchant's order: the customer and the merchant's webhooks are told once, a
    planned order leaves its route; a cancelled order is answered as it is."""
    order = bootstrap.orders().cancel(_merchant(), order_id)
    return json_response(OrderOut.of(order, settings().public_base_url).body())


class AmendmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: AddressIn


@route(merchant_api, "/v1/orders/{order_id}", methods=["PATCH"])
def amend_order(order_id: str) -> Any:
    merchant = _merchant()
    body = parse_body(merchant_api.current_request, AmendmentIn)
    address = Address(**body.address.model_dump())
    order = bootstrap.orders().amend(merchant, order_id, address)
    return json_response(OrderOut.of(order, settings().public_base_url).body())


@route(merchant_api, "/v1/orders/{order_id}", methods=["GET"])
def get_order(order_id: str) -> Any:
    order, timeline = bootstrap.orders().get(_merchant(), order_id)
    order = with_live_eta(order, bootstrap.dispatch_repository())
    return json_response(OrderOut.of(order, settings().public_base_url, timeline).body())


@route(merchant_api, "/v1/orders/{order_id}/labels", methods=["GET"])
def order_labels(order_id: str) -> Any:
    """The order's parcel labels: a PDF, one 4x6 inch page a parcel."""
    merchant = _merchant()
    pdf = bootstrap.label_sheets().for_order(merchant.merchant_id, order_id)
    return pdf_response(pdf, f"labels-{order_id}.pdf")


@route(merchant_api, "/v1/orders/{order_id}/proof", methods=["GET"])
def order_proof(order_id: str) -> Any:
    """The order's proof of delivery; its photo and signature through 5-minute URLs."""
    order, _ = bootstrap.orders().get(_merchant(), order_id)
    return json_response(ProofOut.of(bootstrap.proof_views().for_merchant(order)).body())


@route(merchant_api, "/v1/orders/{order_id}/notifications", methods=["GET"])
def order_notifications(order_id: str) -> Any:
    """What the customer was sent about the order, by channel (sent, failed or skipped)."""
    merchant = _merchant()
    sent = bootstrap.notifications().list_for_order(order_id, merchant.merchant_id)
    return json_response(SentMessagesOut.of(sent).body())


class SwitchedOffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: OrderMessage
    channel: Literal["email", "sms"]


class NotificationPreferencesIn(BaseModel):
    """The customer messages to switch off; everything not listed is on."""

    model_config = ConfigDict(extra="forbid")
    off: list[SwitchedOffIn] = Field(default_factory=list, max_length=40)


@route(merchant_api, "/v1/notification-preferences", methods=["PUT"])
def put_notification_preferences() -> Any:
    merchant = _merchant()
    body = parse_body(merchant_api.current_request, NotificationPreferencesIn)
    off = [f"{entry.type}:{entry.channel}" for entry in body.off]
    updated = bootstrap.accounts().set_notifications_off(merchant.merchant_id, off)
    return json_response(NotificationPreferencesOut.of(updated.notifications_off).body())


@route(merchant_api, "/v1/notification-preferences", methods=["GET"])
def get_notification_preferences() -> Any:
    return json_response(NotificationPreferencesOut.of(_merchant().notifications_off).body())


class BrandIn(BaseModel):
    """How the tracking page shows the merchant; each field optional, the whole brand replaced
    (a field left out is cleared)."""

    model_config = ConfigDict(extra="forbid")
    display_name: str | None = Field(
        default=None, min_length=1, max_length=80, description="the name customers see"
    )
    colour: str | None = Field(
        default=None, pattern=r"^#[0-9a-fA-F]{6}$", description="brand colour, #rrggbb"
    )
    help_url: str | None = Field(
        default=None, max_length=2048, description="https link to the merchant's help"
    )

    @field_validator("display_name")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or not value.isprintable()):
            raise ValueError("a name of printable characters")
        return value.strip() if value is not None else None

    @field_validator("help_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value is not None and not is_https_url(value):
            raise ValueError("an https URL with a host")
        return value


@route(merchant_api, "/v1/brand", methods=["PUT"])
def put_brand() -> Any:
    merchant = _merchant()
    body = parse_body(merchant_api.current_request, BrandIn)
    brand = Brand(body.display_name, body.colour.lower() if body.colour else None, body.help_url)
    return json_response(
        BrandReply.of(bootstrap.accounts().set_brand(merchant.merchant_id, brand)).body()
    )


@route(merchant_api, "/v1/brand", methods=["GET"])
def get_brand() -> Any:
    return json_response(BrandReply.of(_merchant()).body())


class WebhookEndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2048, description="https URL lastmile POSTs order events to")
    types: list[OrderMessage] | None = Field(
        default=None, min_length=1, description="event types to receive; all when left out"
    )


@route(merchant_api, "/v1/webhook-endpoints", methods=["POST"])
def create_webhook_endpoint() -> Any:
    """A new endpoint and its signing secret (Standard Webhooks), shown this once."""
    merchant = _merchant()
    body = parse_body(merchant_api.current_request, WebhookEndpointIn)
    endpoint, secret = bootstrap.webhook_endpoints().register(
        merchant.merchant_id, body.url, body.types
    )
    return json_response(WebhookEndpointCreated.created(endpoint.view(), secret).body(), status=201)


@route(merchant_api, "/v1/webhook-endpoints", methods=["GET"])
def list_webhook_endpoints() -> Any:
    """The merchant's endpoints by id, a page at a time (`endpoints` is `items` again)."""
    owner = _merchant().merchant_id
    query = list_query(merchant_api.current_request, ListQuery)
    endpoints, cursor = asked_page(
        query,
        "webhook-endpoints",
        owner,
        lambda *, limit, start: bootstrap.webhook_endpoints().page(owner, limit=limit, start=start),
    )
    views = [WebhookEndpointOut.of(e.view()) for e in endpoints]
    return json_response(
        WebhookEndpointsPage(items=views, endpoints=views, next_cursor=cursor).body()
    )


@route(merchant_api, "/v1/webhook-endpoints/{endpoint_id}", methods=["DELETE"])
def delete_webhook_endpoint(endpoint_id: str) -> Any:
    bootstrap.webhook_endpoints().delete(_merchant().merchant_id, endpoint_id)
    return Response(body="", status_code=204)


@route(merchant_api, "/v1/webhook-endpoints/{endpoint_id}/enable", methods=["POST"])
def enable_webhook_endpoint(endpoint_id: str) -> Any:
    """Deliver again to an endpoint disabled for failing."""
    endpoint = bootstrap.webhook_endpoints().enable(_merchant().merchant_id, endpoint_id)
    return json_response(WebhookEndpointOut.of(endpoint.view()).body())
