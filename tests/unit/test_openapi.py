"""The OpenAPI document and the Chalice routes describe the same API."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace

import pytest
from jsonschema import Draft202012Validator, ValidationError

from app import app
from chalicelib.api.openapi import document
from chalicelib.domain.lockers import Locker, LockerFigures, LockerParcel, ParcelState
from chalicelib.lockers.kiosk import deposited_view


class ScriptedVendor:
    def __init__(self) -> None:
        self.scripted: list[int] = []

    def script(self, statuses: Iterable[int]) -> None:
        self.scripted.extend(statuses)


def chalice_routes() -> set[tuple[str, str]]:
    return {(path, method.lower()) for path, entries in app.routes.items() for method in entries}


def documented_routes() -> set[tuple[str, str]]:
    return {
        (path, method)
        for path, ops in document()["paths"].items()
        for method in ops
        if method != "parameters"
    }


def test_every_route_is_documented_and_every_documented_path_is_a_route() -> None:
    assert chalice_routes() == documented_routes()


def test_each_audience_documents_the_routes_of_its_own_blueprint() -> None:
    from chalicelib.api.openapi.assembly import AUDIENCES

    for audience in AUDIENCES:
        blueprint = "chalicelib.api." + audience.__name__.rpartition(".")[2]
        served = {
            (path, method.lower())
            for path, entries in app.routes.items()
            for method, entry in entries.items()
            if entry.view_function.__module__ == blueprint
        }
        documented = {(p, m) for p, ops in audience.paths().items() for m in ops}
        assert served and documented == served, audience.__name__


def test_document_is_openapi_31_with_resolvable_schema_refs() -> None:
    doc = document()
    assert doc["openapi"] == "3.1.0"
    text = json.dumps(doc)
    schemas = doc["components"]["schemas"]
    for ref in {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}:
        assert ref in schemas, ref
    assert set(schemas["CanonicalOrder"]["required"]) >= {"external_id", "customer", "address"}


def test_every_secured_operation_names_a_declared_scheme() -> None:
    doc = document()
    declared = set(doc["components"]["securitySchemes"])
    for ops in doc["paths"].values():
        for method, op in ops.items():
            if method == "parameters":
                continue
            for requirement in op["security"]:
                assert set(requirement) <= declared


def test_document_validates_against_the_openapi_31_specification() -> None:
    from openapi_spec_validator import validate

    validate(document())


def test_nested_schemas_of_the_same_name_stay_apart() -> None:
    schemas = document()["components"]["schemas"]
    # The canonical order's address and a locker's both come from models named AddressIn.
    assert "country" in schemas["AddressIn"]["properties"]
    assert set(schemas["LockerAddressIn"]["properties"]) == {"line1", "city", "postcode"}
    assert "LockerAddressIn" in json.dumps(schemas["LockerIn"])
    assert "LockerAddressIn" not in json.dumps(schemas["CanonicalOrder"])


def test_kiosk_routes_take_the_kiosk_key_and_say_when_a_locked_kiosk_opens() -> None:
    paths = document()["paths"]
    pickups = paths["/v1/lockers/{locker_id}/pickups"]["post"]
    assert pickups["security"] == [{"kiosk": []}]
    assert {"401", "403", "429"} <= set(pickups["responses"])
    assert "Retry-After" in pickups["responses"]["429"]["headers"]
    for path in ("/v1/lockers/{locker_id}/deposits", "/v1/lockers/{locker_id}/retrievals"):
        assert {"kiosk", "driver"} == {s for r in paths[path]["post"]["security"] for s in r}
    # Every 429 anywhere says when to come back.
    for ops in paths.values():
        for method, op in ops.items():
            if method != "parameters" and "429" in op["responses"]:
                assert "Retry-After" in op["responses"]["429"]["headers"], op["summary"]


def test_locker_replies_describe_what_the_service_answers() -> None:
    components = document()["components"]

    def valid(name: str, answer: dict[str, object]) -> None:
        schema = {"$ref": f"#/components/schemas/{name}", "components": components}
        Draft202012Validator(schema).validate(answer)

    locker = Locker("lkr_1", "Tooley St", 51.5, -0.08, "dep_1", "2025-05-01T09:00:00Z")
    parcel = LockerParcel(
        "lkr_1", "ord_1", "dep_1", ("A1", "B2"), ParcelState.DEPOSITED,
        "2025-05-01T09:00:00Z", "2025-05-04T09:00:00Z", "salt", "hash",
    )  # fmt: skip
    valid("Deposit", deposited_view(parcel))
    nearby = [{**locker.public(), "distance_m": 350, "free": {"M": 2}}]
    valid("NearbyLockers", {"lockers": nearby, "items": nearby, "next_cursor": None})
    figures = {"by_size": {"M": {"free": 1, "occupied": 1}}, "occupancy": 0.5}
    view = {
        **locker.public(),
        "depot_id": "dep_1",
        "holding_hours": 72,
        "compartments": [{"compartment_id": "A1", "size": "M", "state": "free"}],
        "figures": figures | LockerFigures(deposits=3, pickups=2, expiries=1).view(),
        "kiosk": {"attempts": 0, "window_ends": None, "locked_until": None, "lockouts": 0},
    }
    valid("LockerView", view)
    locked = {"attempts": 7, "window_ends": "2025-05-01T09:15:00Z", "lockouts": 1}
    valid("LockerView", view | {"kiosk": locked | {"locked_until": "2025-05-01T09:15:00Z"}})
    with pytest.raises(ValidationError):
        valid("LockerView", {**view, "compartments": [{"compartment_id": "A1", "size": "XL"}]})


def test_the_local_stage_documents_its_local_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalice import Chalice

    from chalicelib.api.local import local_blueprint
    from chalicelib.config import settings

    # A probe app of its own reads the local blueprint's routes.
    probe = Chalice(app_name="probe")
    probe.register_blueprint(local_blueprint(sendgrid=ScriptedVendor()))
    local_routes = {(p, m.lower()) for p, entries in probe.routes.items() for m in entries}
    monkeypatch.setenv("LASTMILE_STAGE", "local")
    settings.cache_clear()
    document.cache_clear()
    try:
        documented = {r for r in documented_routes() if r[0].startswith("/local/")}
    finally:
        monkeypatch.undo()
        settings.cache_clear()
        document.cache_clear()
    assert documented == local_routes


def test_every_json_success_has_a_schema_generated_from_its_reply_model() -> None:
    """So the fuzzer's schema check holds every answer to what the code shapes it with: only
    bodiless answers (204, a 303 back to a page) go without a schema, and every JSON one refers
    to a reply model's (pydantic titles its schemas; a hand-written one has none). The local
    stage's tools are held so in tests/unit/test_local_replies.py."""
    schemas = document()["components"]["schemas"]
    missing, by_hand = [], []
    for path, item in document()["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            for code, response in operation["responses"].items():
                if code[0] != "2":
                    continue
                if code != "204" and "content" not in response:
                    missing.append((method, path, code))
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if schema is not None:
                    name = schema["$ref"].removeprefix("#/components/schemas/")
                    if "title" not in schemas[name]:
                        by_hand.append((method, path, code, name))
    assert missing == [] and by_hand == []


def test_no_merchant_answer_can_carry_a_key_or_secret() -> None:
    from chalicelib.api.replies import MerchantOut

    fields = set(MerchantOut.model_fields)
    assert fields == {
        "merchant_id",
        "name",
        "depot_id",
        "created_at",
        "stripe_account_id",
        "notifications_off",
        "depot_ids",
    }
    assert MerchantOut.model_config["extra"] == "forbid", "nothing else can be put in"
    schemas = document()["components"]["schemas"]
    assert schemas["MerchantsPage"]["properties"]["items"]["items"] == {
        "$ref": "#/components/schemas/MerchantOut"
    }


def test_the_order_and_tracking_replies_are_what_their_documented_schemas_describe() -> None:
    from chalicelib.api.replies import OrderOut
    from chalicelib.domain.order import CarrierHandling, receive
    from chalicelib.intake.canonical import parse_order
    from chalicelib.tracking.public import public_view
    from tests.builders import an_order

    components = document()["components"]

    def valid(name: str, answer: dict[str, object]) -> None:
        schema = {"$ref": f"#/components/schemas/{name}", "components": components}
        Draft202012Validator(schema).validate(answer)

    order, timeline = receive(parse_order(an_order()), merchant_id="m1", depot_id="d", source="api")
    uber = CarrierHandling("uber_direct", "j1", "pickup", 450, "GBP", "q1")
    carried = replace(order, carrier=uber)
    answer = OrderOut.of(carried, "https://t.example", timeline).body()
    valid("OrderOut", answer)
    # The merchant reads its order whole, but never its version or the raw ETA bounds.
    assert answer["carrier"] == {
        "name": "uber_direct", "job_id": "j1", "status": "pickup",
        "fee": {"amount": 450, "currency": "GBP"}, "quote_id": "q1",
    }  # fmt: skip
    assert {"version", "eta_from", "eta_to"}.isdisjoint(answer)
    assert [e["type"] for e in answer["timeline"]] == [e.type for e in timeline]
    with pytest.raises(ValidationError):
        valid("OrderOut", {k: v for k, v in answer.items() if k != "tracking_url"})
    valid("PublicTracking", public_view(order, timeline, shipments=[("ABC", order.status)]))


def test_the_parked_listing_reaches_the_answer_field_for_field_and_as_documented() -> None:
    from chalicelib.api.replies import ParkedOut
    from chalicelib.notify.redrive import Redrive
    from tests.unit.notify.test_redrive import BATCH, DeadLetterQueue, Stream, work

    partial = {"DDBStreamBatchInfo": {"shardId": "shardId-2"}}  # AWS left out the rest
    queue = DeadLetterQueue(
        work("ord_a").to_json(), json.dumps({"DDBStreamBatchInfo": BATCH}), json.dumps(partial), "?"
    )
    listing = Redrive(queue, Stream([])).listing(limit=50)

    answer = ParkedOut.of(listing).body()

    # Every kind keeps exactly its fields, the nulls of a batch that lacked some included.
    assert answer == listing
    assert [i["kind"] for i in answer["items"]] == [
        "work",
        "stream_batch",
        "stream_batch",
        "unreadable",
    ]
    assert answer["items"][2]["records"] is None and set(answer["items"][3]) == {
        "id", "kind", "dead_lettered_at",
    }  # fmt: skip
    schema = {"$ref": "#/components/schemas/ParkedOut", "components": document()["components"]}
    Draft202012Validator(schema).validate(answer)


def _valid(name: str, answer: object) -> None:
    schema = {"$ref": f"#/components/schemas/{name}", "components": document()["components"]}
    Draft202012Validator(schema).validate(answer)


def test_a_redrive_reaches_the_answer_count_for_count_and_as_documented() -> None:
    from chalicelib.api.replies import RedriveOut
    from chalicelib.notify.redrive import Redrive
    from tests.unit.notify.test_redrive import BATCH, DeadLetterQueue, Stream, work

    queue = DeadLetterQueue(work("ord_a").to_json(), json.dumps({"DDBStreamBatchInfo": BATCH}), "?")

    answer = RedriveOut.of(Redrive(queue, Stream(None)).redrive()).body()

    assert answer == {
        "work": 1,
        "stream_batches": 0,
        "stream_messages": 0,
        "expired": 1,
        "unreadable": 1,
        "remaining": 2,
    }
    _valid("RedriveOut", answer)


def test_a_route_event_answer_keeps_the_fields_of_its_kind_and_a_null_next_stop() -> None:
    from chalicelib.api.replies import RouteEventOut

    last_door = {
        "route_id": "rte_1",
        "outcome": "applied",
        "order_id": "ord_1",
        "status": "delivered",
        "next_stop": None,
    }
    departed = {
        "route_id": "rte_1",
        "outcome": "applied",
        "next_stop": {"order_id": "ord_2", "eta": "2026-12-01T10:00:00Z"},
        "not_loaded": ["LMABC"],
        "trip": 2,
    }
    for result in (last_door, departed, {"route_id": "rte_1", "outcome": "duplicate"}):
        answer = RouteEventOut.of(result).body()
        assert answer == result  # a null stays, nothing is added
        _valid("RouteEventOut", answer)
    with pytest.raises(ValueError):  # a field no model names never reaches an answer
        RouteEventOut.of(last_door | {"address": "1 High St"})


def test_notification_preferences_are_answered_as_type_and_channel_pairs() -> None:
    from chalicelib.api.replies import NotificationPreferencesOut

    answer = NotificationPreferencesOut.of(("order.planned:sms", "order.delivered:email")).body()

    assert answer == {
        "off": [
            {"type": "order.planned", "channel": "sms"},
            {"type": "order.delivered", "channel": "email"},
        ]
    }
    _valid("NotificationPreferencesOut", answer)
    with pytest.raises(ValidationError):
        _valid("NotificationPreferencesOut", {"off": [{"type": "order.planned", "channel": "fax"}]})


def test_a_proof_upload_form_is_answered_with_its_key_under_both_names() -> None:
    from chalicelib.api.replies import ProofUploadOut

    key = "proofs/rte_1/ord_1/photo/ab12.jpg"
    upload = {
        "url": "https://proofs.s3.amazonaws.com/",
        "fields": {"key": key, "policy": "e30=", "Content-Type": "image/jpeg"},
        "kind": "photo",
        "key": key,
        "photo_key": key,
        "content_type": "image/jpeg",
        "min_bytes": 10_000,
        "max_bytes": 5_000_000,
        "expires_in": 900,
    }

    answer = ProofUploadOut.of(upload).body()

    assert answer == upload
    _valid("ProofUploadOut", answer)


def test_the_document_is_answered_whole_and_by_its_own_schema() -> None:
    from chalice.test import Client

    with Client(app) as client:
        answer = client.http.get("/openapi.json")

    assert answer.status_code == 200
    sent = json.loads(answer.body)
    assert sent == json.loads(json.dumps(document()))  # every null default kept
    _valid("OpenApiDocumentOut", sent)
    with pytest.raises(ValidationError):
        _valid("OpenApiDocumentOut", {k: v for k, v in sent.items() if k != "paths"})
