"""Public tracking (no credentials): the HTML page and its JSON twin, by tracking code, and
what a customer may do from them (rate, another day, a locker instead or home after all, a new
pickup code, more time), rate limited per client."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs

from chalice import Blueprint
from chalice.app import Response
from pydantic import BaseModel, Field, StrictInt

from chalicelib import bootstrap
from chalicelib.api.http import (
    json_response,
    parse_body,
    raw_body,
    route,
    status_of,
)
from chalicelib.api.locker_replies import PickupBy
from chalicelib.api.replies import FeedbackOut, Health
from chalicelib.billing.stripe_api import CheckoutSession
from chalicelib.config import settings
from chalicelib.domain.errors import (
    DepotNotFound,
    DomainError,
    MerchantNotFound,
    NotFound,
    OrderNotFound,
    ValidationFailed,
)
from chalicelib.domain.order import Order
from chalicelib.domain.tenancy import Merchant
from chalicelib.request_bodies import Id
from chalicelib.tracking import feedback, map_tiles, page
from chalicelib.tracking.rate_limit import RateLimited

tracking = Blueprint(__name__)

FORM = ["application/x-www-form-urlencoded"]
# A button's form has no fields: it may come with no body and no Content-Type, which Chalice
# takes for JSON. No field of it is read.
BUTTON = [*FORM, "application/json"]


class FeedbackIn(BaseModel):
    """A customer's rating of a delivered parcel, with an optional comment."""

    rating: StrictInt = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=feedback.MAX_COMMENT)


class AnotherDayIn(BaseModel):
    """The day to deliver on after a failed attempt: tomorrow to 7 days ahead, by the depot's
    calendar (08:00-20:00 there)."""

    date: str = Field(max_length=10, description="YYYY-MM-DD")


class LockerChoiceIn(BaseModel):
    """The locker to collect from instead (one of those offered), or null for home delivery."""

    locker_id: Id | None


def _limit_client() -> None:
    """Count this request against its client's minute (RateLimited past the limit)."""
    context = tracking.current_request.context or {}
    ip = (context.get("identity") or {}).get("sourceIp") or "unknown"
    bootstrap.tracking_limiter().hit(ip)


def _find(tracking_code: str, *, lockers: bool = False) -> page.Tracking:
    """The order behind the code; with `lockers`, also what the page shows of lockers (its
    locker, the parcel waiting there, the lockers offered instead), its merchant and its proof."""
    found = page.find(
        tracking_code,
        bootstrap.orders(),
        bootstrap.dispatch_repository(),
        bootstrap.locker_choices() if lockers else None,
    )
    found = page.with_shipments(found, bootstrap.orders())
    proof = bootstrap.proof_views().for_customer(found.order)
    if proof:
        found = replace(found, proof=proof)
    if not lockers:
        return found
    return page.with_merchant(found, _merchant(found.order.merchant_id, int(time.time()) // 60))


@lru_cache(maxsize=256)
def _merchant(merchant_id: str, minute: int) -> Merchant | None:
    # A brand changes rarely and a page polls: one read per merchant per minute per container.
    try:
        return bootstrap.accounts().merchant(merchant_id)
    except MerchantNotFound:
        return None  # the page then shows no merchant


@lru_cache(maxsize=256)
def _depot_timezone(depot_id: str) -> str | None:
    # A depot's zone practically never changes: one read per depot per container.
    try:
        return bootstrap.accounts().depot(depot_id).timezone
    except DepotNotFound:
        return None  # the page then shows UTC and says so


def _html(body: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(body=body, status_code=status, headers=dict(headers or page.headers()))


def _page_refusal(exc: DomainError) -> Response:
    """What the pages answer for a refusal before their view runs (a code that cannot exist)."""
    return _html(page.render_not_found(), 404)


@route(tracking, "/v1/track/{tracking_code}", methods=["GET"])
def track(tracking_code: str) -> Any:
    _limit_client()  # over the limit: 429 with Retry-After (api/http.py)
    found = _find(tracking_code, lockers=True)
    return json_response(found.public(), headers={"Cache-Control": "no-store"})


@route(tracking, "/v1/track/{tracking_code}/feedback", methods=["POST"])
def track_feedback(tracking_code: str) -> Any:
    _limit_client()  # over the limit: 429 with Retry-After (api/http.py)
    body = parse_body(tracking.current_request, FeedbackIn)
    found = _find(tracking_code)
    given = feedback.give_feedback(
        found.order, body.rating, body.comment, bootstrap.feedback_store()
    )
    return json_response(FeedbackOut.of(given).body(), 201)


def _rate_limited_page(exc: RateLimited) -> Response:
    headers = page.headers() | {"Retry-After": str(exc.retry_after)}
    return _html(page.render_rate_limited(exc.retry_after), 429, headers)


@route(tracking, "/track/{tracking_code}", methods=["GET"], refuse=_page_refusal)
def track_page(tracking_code: str) -> Any:
    try:
        _limit_client()
    except RateLimited as exc:
        return _rate_limited_page(exc)
    try:
        found = _find(tracking_code, lockers=True)
    except OrderNotFound:
        return _html(page.render_not_found(), 404)
    given = (
        bootstrap.feedback_store().get(found.order.order_id)
        if feedback.can_rate(found.order)
        else None
    )
    tiles = bootstrap.map_tiles()
    html = page.render_page(
        found,
        base_url=settings().public_base_url,
        timezone=_depot_timezone(found.order.depot_id),
        feedback=given,
        tiles=tiles,
    )
    photos = bootstrap.proof_views().photo_origin()
    return _html(html, 200, page.page_headers(found, tiles, photos))


def _form() -> dict[str, str]:
    """The posted form's fields, the first value of each."""
    fields = parse_qs(raw_body(tracking.current_request).decode(errors="replace"))
    return {name: values[0] for name, values in fields.items()}


def _page_path(tracking_code: str) -> str:
    """The tracking page's path as this client reached it (so a stage or base path in front of
    /track stays), from the form's path: /track/{code}/feedback -> /track/{code}."""
    path = str((tracking.current_request.context or {}).get("path") or "")
    return path.rsplit("/", 1)[0] if path.count("/") > 2 else f"/track/{tracking_code}"


def _back_to_page(tracking_code: str) -> Response:
    headers: dict[str, str | list[str]] = {**page.headers(), "Location": _page_path(tracking_code)}
    return Response(body="", status_code=303, headers=headers)


def _refused(exc: DomainError, tracking_code: str) -> Response:
    """A form's refusal as a page, at the status its error's family means."""
    if isinstance(exc, NotFound):
        return _html(page.render_not_found(), 404)
    status = status_of(exc)
    if isinstance(exc, feedback.FeedbackAlreadyGiven):
        title = "We already have your feedback"
    elif status == 409:
        title = "This cannot be done now"
    else:
        title = "Please check your answer"
    text = exc.message
    return _html(page.render_message(title, text, back=_page_path(tracking_code)), status)


def _answer_form(
    tracking_code: str, act: Callable[[page.Tracking, dict[str, str]], object]
) -> Response:
    # An action may answer with a page of its own (the link to pay for it).
    """A tracking page form: counted against the client's minute, applied to the parcel the
    code names, then back to the page (303); a refusal is a page at its error's status."""
    try:
        _limit_client()
        form = _form()
        answered = act(_find(tracking_code), form)
    except RateLimited as exc:
        return _rate_limited_page(exc)
    except DomainError as exc:
        return _refused(exc, tracking_code)
    if isinstance(answered, Response):
        return answered
    return _back_to_page(tracking_code)


@route(
    tracking,
    "/track/{tracking_code}/feedback",
    methods=["POST"],
    content_types=FORM,
    refuse=_page_refusal,
)
def track_page_feedback(tracking_code: str) -> Any:
    def rate(found: page.Tracking, form: dict[str, str]) -> None:
        store = bootstrap.feedback_store()
        feedback.give_feedback(found.order, form.get("rating"), form.get("comment"), store)

    return _answer_form(tracking_code, rate)


@route(
    tracking,
    "/track/{tracking_code}/reschedule",
    methods=["POST"],
    content_types=FORM,
    refuse=_page_refusal,
)
def track_page_reschedule(tracking_code: str) -> Any:
    """Another day after a failed attempt; a day the merchant charges for is a page with the
    link to pay for it."""

    def reschedule(found: page.Tracking, form: dict[str, str]) -> Response | None:
        paid = _offer_another_day(found.order, form.get("date"))
        if paid is not None:
            return _pay_page(tracking_code, "Pay for another day", paid)
        zone, _ = page.zone(_depot_timezone(found.order.depot_id))
        orders = bootstrap.order_repository()
        feedback.reschedule(found.order, found.timeline, form.get("date"), orders, zone=zone)
        return None

    return _answer_form(tracking_code, reschedule)


def _offer_another_day(order: Order, raw_day: object) -> tuple[CheckoutSession, Any] | None:
    # A checkout session only for a day it could then apply (checked first, so a refusal is
    # never paid for); the day is kept as the text the customer chose.
    day = raw_day if isinstance(raw_day, str) else ""
    return bootstrap.paid_actions().offer(order, "reschedule", {"date": day})


@route(
    tracking,
    "/track/{tracking_code}/locker",
    methods=["POST"],
    content_types=FORM,
    refuse=_page_refusal,
)
def track_page_locker(tracking_code: str) -> Any:
    """Collect from the chosen locker instead (`locker_id`), or home after all (`home`); a
    locker the merchant charges for is a page with the link to pay for it."""

    def choose(found: page.Tracking, form: dict[str, str]) -> Response | None:
        choice = form.get("locker_id", "").strip()
        if not choice:
            raise ValidationFailed("locker_id: choose a locker", field="locker_id")
        if choice != page.HOME:
            paid = bootstrap.paid_actions().offer(found.order, "locker", {"locker_id": choice})
            if paid is not None:
                return _pay_page(tracking_code, "Pay for the locker", paid)
        bootstrap.locker_choices().choose(found.order, None if choice == page.HOME else choice)
        return None

    return _answer_form(tracking_code, choose)


def _pay_page(tracking_code: str, title: str, paid: tuple[CheckoutSession, Any]) -> Response:
    """The link to the action's Stripe Checkout (a link, not a redirect: the page's CSP lets
    its forms post to itself only)."""
    session, price = paid
    text = "It is done as soon as the payment goes through."
    pay = {"url": session.url, "price": f"{price['amount'] / 100:.2f} {price['currency']}"}
    return _html(page.render_message(title, text, back=_page_path(tracking_code), pay=pay), 200)


def _payment_required(paid: tuple[CheckoutSession, Any]) -> Response:
    session, price = paid
    body = {
        "error": {"code": "payment_required", "message": "pay through the checkout_url first"},
        "checkout_url": session.url,
        "session_id": session.session_id,
        "price": price,
    }
    return json_response(body, 402, headers={"Cache-Control": "no-store"})


@route(
    tracking,
    "/track/{tracking_code}/pickup-code",
    methods=["POST"],
    content_types=BUTTON,
    refuse=_page_refusal,
)
def track_page_pickup_code(tracking_code: str) -> Any:
    """A new pickup code for the parcel waiting in a locker (the old one stops working)."""
    return _answer_form(
        tracking_code, lambda found, _: bootstrap.locker_choices().resend_code(found.order)
    )


@route(
    tracking,
    "/track/{tracking_code}/extension",
    methods=["POST"],
    content_types=BUTTON,
    refuse=_page_refusal,
)
def track_page_extension(tracking_code: str) -> Any:
    """Once per parcel: 48 more hours to collect it, with a new code (paid for first when the
    merchant charges for it)."""

    def extend(found: page.Tracking, _: dict[str, str]) -> Response | None:
        paid = bootstrap.paid_actions().offer(found.order, "extension", {})
        if paid is not None:
            return _pay_page(tracking_code, "Pay for more time", paid)
        bootstrap.locker_choices().extend(found.order)
        return None

    return _answer_form(tracking_code, extend)


@route(tracking, "/v1/track/{tracking_code}/locker", methods=["POST"])
def track_locker(tracking_code: str) -> Any:
    _limit_client()  # over the limit: 429 with Retry-After (api/http.py)
    body = parse_body(tracking.current_request, LockerChoiceIn)
    order = _find(tracking_code).order
    if body.locker_id is not None:
        paid = bootstrap.paid_actions().offer(order, "locker", {"locker_id": body.locker_id})
        if paid is not None:
            return _payment_required(paid)
    bootstrap.locker_choices().choose(order, body.locker_id)
    found = _find(tracking_code, lockers=True)
    return json_response(found.public(), headers={"Cache-Control": "no-store"})


@route(tracking, "/v1/track/{tracking_code}/reschedule", methods=["POST"])
def track_reschedule(tracking_code: str) -> Any:
    _limit_client()
    body = parse_body(tracking.current_request, AnotherDayIn)
    found = _find(tracking_code)
    paid = _offer_another_day(found.order, body.date)
    if paid is not None:
        return _payment_required(paid)  # 402: the day is chosen once Stripe says it is paid
    zone, _ = page.zone(_depot_timezone(found.order.depot_id))
    orders = bootstrap.order_repository()
    feedback.reschedule(found.order, found.timeline, body.date, orders, zone=zone)
    moved = _find(tracking_code, lockers=True)
    return json_response(moved.public(), headers={"Cache-Control": "no-store"})


@route(tracking, "/v1/track/{tracking_code}/pickup-code", methods=["POST"])
def track_pickup_code(tracking_code: str) -> Any:
    _limit_client()
    pickup_by = bootstrap.locker_choices().resend_code(_find(tracking_code).order)
    answer = PickupBy(pickup_by=pickup_by).body()
    return json_response(answer, 202, headers={"Cache-Control": "no-store"})


@route(tracking, "/v1/track/{tracking_code}/extension", methods=["POST"])
def track_extension(tracking_code: str) -> Any:
    _limit_client()
    order = _find(tracking_code).order
    paid = bootstrap.paid_actions().offer(order, "extension", {})
    if paid is not None:
        return _payment_required(paid)  # 402: the action happens once Stripe says it is paid
    pickup_by = bootstrap.locker_choices().extend(order)
    answer = PickupBy(pickup_by=pickup_by).body()
    return json_response(answer, 202, headers={"Cache-Control": "no-store"})


@route(tracking, "/static/{name}", methods=["GET"])
def static_asset(name: str) -> Any:
    """The tracking page's map library (MapLibre GL JS, vendored): versioned names, a year's
    cache; nothing but the files it lists."""
    found = map_tiles.static_file(name)
    if found is None:
        raise NotFound(f"no static file {name}")
    kind, text = found
    headers: dict[str, str | list[str]] = {
        "Content-Type": kind,
        "Cache-Control": map_tiles.IMMUTABLE,
        "X-Content-Type-Options": "nosniff",
    }
    return Response(body=text, status_code=200, headers=headers)


@route(tracking, "/health", methods=["GET"])
def health() -> Any:
    return json_response(Health().body())
