"""Property-based tests (Hypothesis) of the canonical order and every platform's translator:
generated orders keep their facts; generated garbage in any field is refused only with our
validation error; nothing a translator accepts is refused by the store (tests/dynamodb_limits.py).
Derandomised and bounded, so CI sees the same examples every run in a few seconds."""

from __future__ import annotations

import copy
import json
import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.order import MAX_EXTERNAL_ID_BYTES, OrderDraft, receive
from chalicelib.domain.times import iso_z, parse_iso
from chalicelib.intake import shopify, standard, stripe_checkout, woocommerce
from chalicelib.intake.canonical import parse_canonical
from chalicelib.orders.service import Action, Ignored, Inbound
from chalicelib.store.models.orders import OrderLookupItem
from chalicelib.store.orders import _extref_key, _receipt_key, order_to_model, receipt_model
from tests.builders import an_order, sample, shopify_sample
from tests.dynamodb_limits import refusals

PROPERTY = settings(
    max_examples=100,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- strategies --------------------------------------------------------------------------------

# Letters, digits, punctuation, symbols (emoji among them) and spaces: text whose stripping
# Python and pydantic agree on, in up to four bytes a character.
CHARS = st.characters(categories=("L", "N", "P", "S", "Zs"))
words = st.text(CHARS, min_size=1, max_size=40).filter(lambda s: s.strip() != "")
names = st.text(CHARS, min_size=1, max_size=200).filter(lambda s: s.strip() != "")
ids = st.text(CHARS, min_size=1, max_size=60).filter(
    lambda s: s.strip() != "" and len(s.strip().encode()) <= MAX_EXTERNAL_ID_BYTES
)
offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
instants = st.datetimes(
    min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.just(UTC)
)
local_instants = st.tuples(instants, offsets).map(lambda pair: pair[0].astimezone(pair[1]))
weights = st.floats(min_value=0.001, max_value=1000)
latitudes = st.floats(min_value=-90, max_value=90)
longitudes = st.floats(min_value=-180, max_value=180)
countries = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", min_size=2, max_size=2)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.text(st.characters(codec="utf-8"), min_size=300, max_size=600),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
"""Any JSON value (what `json.loads` makes of a body): huge and tiny numbers, long text, nesting."""


@st.composite
def canonical_orders(draw: st.DrawFn) -> dict[str, Any]:
    located = draw(st.booleans())
    address: dict[str, Any] = {
        "line1": draw(names),
        "city": draw(words),
        "postcode": draw(st.text(CHARS, min_size=1, max_size=16).filter(lambda s: s.strip())),
        "country": draw(countries),
    }
    if located:
        address |= {"lat": draw(latitudes), "lng": draw(longitudes)}
    order: dict[str, Any] = {
        "external_id": draw(ids),
        "customer": {"name": draw(names)},
        "address": address,
        "parcels": draw(
            st.lists(
                st.fixed_dictionaries(
                    {"weight_kg": weights}, optional={"size": st.sampled_from(["S", "M", "L"])}
                ),
                min_size=1,
                max_size=5,
            )
        ),
    }
    if draw(st.booleans()):
        order["updated_at"] = draw(local_instants).isoformat()
    if draw(st.booleans()):
        start = draw(local_instants)
        end = start + draw(
            st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=2))
        )
        order["delivery"] = {
            "type": "home",
            "window": {"start": start.isoformat(), "end": end.isoformat()},
        }
    return order


# --- what every accepted order must satisfy ----------------------------------------------------


def assert_storable(inbound: Inbound, source: str) -> None:
    """The items intake writes for this event (the order, its lookup, its receipt) are ones
    DynamoDB takes, and every stored time reads back."""
    if inbound.source_updated_at is not None:
        parse_iso(inbound.source_updated_at)
    items: list[Any] = [
        OrderLookupItem(
            *_extref_key("mer_0123456789abcdef", source, inbound.external_id),
            order_id="ord_0123456789abcdef0123",
        )
    ]
    if inbound.event_id is not None:
        items.append(
            receipt_model(*_receipt_key("mer_0123456789abcdef", source, inbound.event_id), "o")
        )
    if inbound.draft is not None:
        order, _ = receive(
            inbound.draft,
            merchant_id="mer_0123456789abcdef",
            depot_id="dep_0123456789abcdef",
            source=source,
            source_updated_at=inbound.source_updated_at,
        )
        items.append(order_to_model(order))
        window = order.delivery.window
        if window is not None:
            assert parse_iso(window.start) < parse_iso(window.end)
    for item in items:
        assert refusals(item) == [], refusals(item)


def at_ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document a value could be put (the root included)."""
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += paths(inner, (*prefix, index))
    return found


def replaced(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    changed = copy.deepcopy(document)
    target = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return changed


def garbage_in(document: Any) -> st.SearchStrategy[Any]:
    """`document` with any JSON value in any one of its fields, or a field added."""
    where = st.sampled_from(paths(document))
    replace_one = st.builds(lambda p, v: replaced(document, p, v), where, json_values)
    added = st.builds(
        lambda v, key: (document | {key: v}) if isinstance(document, dict) else document,
        json_values,
        st.sampled_from(["updated_at", "cancelled_at", "id", "status", "date_modified_gmt"]),
    )
    return replace_one | added


def refused_only_by_validation(translate: Any, source: str, payload: Any) -> None:
    try:
        result = translate(payload)
    except ValidationFailed as exc:
        assert exc.field, exc.message  # the field at fault is named
        return
    if isinstance(result, Inbound):
        assert_storable(result, source)
    else:
        assert isinstance(result, Ignored)


# --- the canonical order -----------------------------------------------------------------------


@PROPERTY
@given(canonical_orders())
def test_canonical_orders_keep_their_facts(data: dict[str, Any]) -> None:
    order = parse_canonical(json.loads(json.dumps(data)))
    draft = order.to_draft()
    assert draft.external_id == data["external_id"].strip()
    assert draft.customer.name == data["customer"]["name"].strip()
    assert draft.address.line1 == data["address"]["line1"].strip()
    assert draft.address.country == data["address"]["country"].upper()
    assert [p.weight_kg for p in draft.parcels] == [p["weight_kg"] for p in data["parcels"]]
    if "lat" in data["address"]:
        assert draft.address.lat is not None and draft.address.lng is not None
        assert math.isclose(draft.address.lat, data["address"]["lat"], abs_tol=1e-7)
        assert math.isclose(draft.address.lng, data["address"]["lng"], abs_tol=1e-7)
    if "updated_at" in data:
        stored = order.source_updated_at
        assert stored is not None and stored.endswith("Z")
        assert parse_iso(stored) == at_ms(datetime.fromisoformat(data["updated_at"]))
    if "delivery" in data:
        window = draft.delivery.window
        assert window is not None
        given_window = data["delivery"]["window"]
        assert parse_iso(window.start) == at_ms(datetime.fromisoformat(given_window["start"]))
        assert window.start.endswith("Z") and window.end.endswith("Z")
    inbound = Inbound(
        "api", Action.UPSERT, draft.external_id, draft, "key-1", order.source_updated_at
    )
    assert_storable(inbound, "api")


@PROPERTY
@given(st.data())
def test_garbage_in_any_canonical_field_is_a_validation_error(data: st.DataObject) -> None:
    payload = data.draw(garbage_in(an_order(updated_at="2026-11-20T10:00:00Z")))

    def translate(body: Any) -> Inbound:
        order = parse_canonical(body)
        draft = order.to_draft()
        return Inbound(
            "api", Action.UPSERT, draft.external_id, draft, None, order.source_updated_at
        )

    refused_only_by_validation(translate, "api", payload)


@PROPERTY
@given(
    # Any text, and text of many multi-byte characters (up to 4 bytes each) about the limits.
    st.text(st.characters(codec="utf-8"), max_size=300)
    | st.text(st.characters(min_codepoint=0x800, codec="utf-8"), min_size=40, max_size=130)
)
def test_an_external_id_is_taken_exactly_when_its_keys_fit(external_id: str) -> None:
    kept = external_id.strip()
    fits = 0 < len(kept) <= 128 and len(kept.encode()) <= MAX_EXTERNAL_ID_BYTES
    try:
        draft = parse_canonical(an_order(external_id=external_id)).to_draft()
    except ValidationFailed as exc:
        assert exc.field == "external_id"
        assert not fits
        return
    assert fits
    assert draft.external_id == kept
    assert_storable(Inbound("api", Action.UPSERT, draft.external_id, draft), "api")


@PROPERTY
@given(
    st.sampled_from(["lat", "lng", "weight_kg"]),
    st.floats() | st.integers() | st.floats(min_value=-1e-100, max_value=1e-100),
)
def test_a_number_is_taken_exactly_when_in_range_and_the_store_can_hold_it(
    field: str, number: float
) -> None:
    low, high = {"lat": (-90, 90), "lng": (-180, 180), "weight_kg": (0.001, 1000)}[field]
    body = an_order()
    if field == "weight_kg":
        body["parcels"] = [{"weight_kg": number}]
    else:
        body["address"] = body["address"] | {field: number}
    in_range = math.isfinite(number) and low <= number <= high
    try:
        draft = parse_canonical(body).to_draft()
    except ValidationFailed as exc:
        assert exc.field is not None and exc.field.endswith(field)
        assert not in_range
        return
    assert in_range
    assert_storable(Inbound("api", Action.UPSERT, draft.external_id, draft), "api")


@PROPERTY
@given(st.datetimes(timezones=st.none() | offsets | st.just(UTC)))
def test_a_time_is_kept_only_when_aware_and_in_range(moment: datetime) -> None:
    body = an_order(updated_at=moment.isoformat())
    aware = moment.tzinfo is not None
    in_range = aware and datetime(2000, 1, 1, tzinfo=UTC) <= moment < datetime(
        2100, 1, 1, tzinfo=UTC
    )
    try:
        order = parse_canonical(body)
    except ValidationFailed as exc:
        assert exc.field == "updated_at"
        assert not in_range
        return
    assert in_range
    assert order.source_updated_at == iso_z(moment, "milliseconds")


# --- Shopify -----------------------------------------------------------------------------------


@st.composite
def shopify_orders(draw: st.DrawFn) -> dict[str, Any]:
    first, last = draw(words), draw(words)
    items = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "quantity": st.integers(0, 5),
                    "grams": st.integers(0, 5000),
                    "requires_shipping": st.booleans(),
                }
            ),
            min_size=1,
            max_size=6,
        )
    )
    payload = shopify_sample(
        id=draw(st.integers(1, 2**70)),
        updated_at=draw(local_instants).isoformat(),
        line_items=items,
        cancelled_at=draw(st.none() | local_instants.map(datetime.isoformat)),
    )
    payload["shipping_address"] |= {
        "first_name": first,
        "last_name": last,
        "address1": draw(names),
        "city": draw(words),
        "latitude": draw(latitudes),
        "longitude": draw(longitudes),
    }
    return payload


@PROPERTY
@given(shopify_orders(), st.sampled_from(sorted(shopify.ORDER_TOPICS)))
def test_shopify_orders_keep_their_facts_and_the_body_decides_the_action(
    payload: dict[str, Any], topic: str
) -> None:
    result = shopify.translate(topic, "evt-1", json.loads(json.dumps(payload)))
    shipped = [i for i in payload["line_items"] if i["requires_shipping"] and i["quantity"]]
    if payload["cancelled_at"] is not None:
        assert isinstance(result, Inbound)
        assert result.action is Action.CANCEL  # whatever the topic said
        assert result.external_id == str(payload["id"])
        return
    if not shipped:
        assert isinstance(result, Ignored)
        return
    assert isinstance(result, Inbound)
    assert result.action is Action.UPSERT  # an open order, even under orders/cancelled
    draft = result.draft
    assert isinstance(draft, OrderDraft)
    ship = payload["shipping_address"]
    assert draft.external_id == str(payload["id"])
    assert draft.customer.name == f"{ship['first_name']} {ship['last_name']}".strip()
    grams = sum(i["grams"] * i["quantity"] for i in shipped)
    assert [p.weight_kg for p in draft.parcels] == [max(grams, 1) / 1000]
    assert math.isclose(draft.address.lat or 0, ship["latitude"], abs_tol=1e-7)
    assert result.source_updated_at is not None
    assert parse_iso(result.source_updated_at) == at_ms(
        datetime.fromisoformat(payload["updated_at"])
    )
    assert_storable(result, "shopify")


@PROPERTY
@given(st.data(), st.sampled_from(sorted(shopify.ORDER_TOPICS)))
def test_garbage_in_any_shopify_field_is_a_validation_error(
    data: st.DataObject, topic: str
) -> None:
    payload = data.draw(garbage_in(shopify_sample()))
    refused_only_by_validation(
        lambda body: shopify.translate(topic, "evt-1", body), "shopify", payload
    )


# --- WooCommerce -------------------------------------------------------------------------------


@st.composite
def woocommerce_orders(draw: st.DrawFn) -> dict[str, Any]:
    payload = sample(
        "woocommerce",
        "order_created",
        id=draw(st.integers(1, 2**40)),
        status=draw(
            st.sampled_from(
                ["processing", "on-hold", "completed", "cancelled", "refunded", "pending"]
            )
        ),
        date_modified_gmt=draw(instants).replace(tzinfo=None).isoformat(),
    )
    payload["shipping"] = payload["shipping"] | {
        "first_name": draw(words),
        "last_name": draw(words),
        "address_1": draw(names),
    }
    payload["meta_data"] = [
        {"key": "_shipping_lat", "value": repr(draw(latitudes))},
        {"key": "_shipping_lng", "value": repr(draw(longitudes))},
    ]
    return payload


@PROPERTY
@given(woocommerce_orders(), st.sampled_from(sorted(woocommerce.ORDER_TOPICS)))
def test_woocommerce_orders_keep_their_facts_and_the_status_decides_the_action(
    payload: dict[str, Any], topic: str
) -> None:
    result = woocommerce.translate(topic, json.loads(json.dumps(payload)))
    status = payload["status"]
    if status == "pending":
        assert isinstance(result, Ignored)
        return
    assert isinstance(result, Inbound)
    assert result.external_id == str(payload["id"])
    modified = datetime.fromisoformat(payload["date_modified_gmt"]).replace(tzinfo=UTC)
    assert result.source_updated_at == iso_z(modified, "milliseconds")
    assert result.event_id == f"{payload['id']}@{payload['date_modified_gmt'][:19]}"
    if status in woocommerce.CANCELLED_STATUSES:
        assert result.action is Action.CANCEL
        return
    assert result.action is Action.UPSERT  # even under order.deleted: the body is not deleted
    draft = result.draft
    assert draft is not None
    ship = payload["shipping"]
    assert draft.customer.name == f"{ship['first_name']} {ship['last_name']}".strip()
    assert draft.address.line1 == ship["address_1"].strip()
    assert math.isclose(
        draft.address.lat or 0, float(payload["meta_data"][0]["value"]), abs_tol=1e-7
    )
    assert_storable(result, "woocommerce")


@PROPERTY
@given(st.data(), st.sampled_from(sorted(woocommerce.ORDER_TOPICS)))
def test_garbage_in_any_woocommerce_field_is_a_validation_error(
    data: st.DataObject, topic: str
) -> None:
    payload = data.draw(garbage_in(sample("woocommerce", "order_created")))
    refused_only_by_validation(
        lambda body: woocommerce.translate(topic, body), "woocommerce", payload
    )


# --- Standard Webhooks -------------------------------------------------------------------------


@PROPERTY
@given(canonical_orders(), st.sampled_from(["order.created", "order.updated", "order.cancelled"]))
def test_standard_webhook_orders_keep_their_facts(data: dict[str, Any], kind: str) -> None:
    result = standard.translate("msg_1", json.loads(json.dumps({"type": kind, "data": data})))
    assert isinstance(result, Inbound)
    assert result.external_id == data["external_id"].strip()
    assert result.event_id == "msg_1"
    if kind == "order.cancelled":
        assert result.action is Action.CANCEL
    else:
        assert result.draft == parse_canonical(data).to_draft()
    assert result.source_updated_at == parse_canonical(data).source_updated_at
    assert_storable(result, "generic")


@PROPERTY
@given(st.data())
def test_garbage_in_any_standard_webhook_field_is_a_validation_error(data: st.DataObject) -> None:
    document = data.draw(
        st.sampled_from(
            [
                sample("standard", "order_created"),
                {
                    "type": "order.cancelled",
                    "data": {"external_id": "SO-1", "updated_at": "2026-11-20T12:00:00Z"},
                },
            ]
        )
    )
    payload = data.draw(garbage_in(document))
    refused_only_by_validation(lambda body: standard.translate("msg_1", body), "generic", payload)


# --- Stripe Checkout ---------------------------------------------------------------------------


@st.composite
def checkout_events(draw: st.DrawFn) -> dict[str, Any]:
    payload = sample(
        "stripe",
        "checkout_session_completed",
        id="evt_" + draw(st.text("abcdefXYZ0123456789", min_size=8, max_size=40)),
    )
    session = payload["data"]["object"]
    session["id"] = "cs_live_" + draw(st.text("abcdefXYZ0123456789", min_size=8, max_size=60))
    shipping = session["collected_information"]["shipping_details"]
    shipping["name"] = draw(names)
    shipping["address"]["line1"] = draw(names)
    session["metadata"] = {"lastmile_weight_kg": repr(draw(weights))}
    return payload


@PROPERTY
@given(checkout_events())
def test_stripe_checkouts_keep_their_facts(payload: dict[str, Any]) -> None:
    result = stripe_checkout.translate(stripe_checkout.parse_event(json.loads(json.dumps(payload))))
    assert isinstance(result, Inbound)
    session = payload["data"]["object"]
    shipping = session["collected_information"]["shipping_details"]
    assert (result.external_id, result.event_id) == (session["id"], payload["id"])
    draft = result.draft
    assert draft is not None
    assert draft.customer.name == shipping["name"].strip()
    assert draft.address.line1 == shipping["address"]["line1"].strip()
    assert [p.weight_kg for p in draft.parcels] == [
        float(session["metadata"]["lastmile_weight_kg"])
    ]
    assert_storable(result, "stripe")


@PROPERTY
@given(st.data())
def test_garbage_in_any_stripe_field_is_a_validation_error(data: st.DataObject) -> None:
    payload = data.draw(garbage_in(sample("stripe", "checkout_session_completed")))

    def translate(body: Any) -> Inbound | Ignored:
        return stripe_checkout.translate(stripe_checkout.parse_event(body))

    refused_only_by_validation(translate, "stripe", payload)
