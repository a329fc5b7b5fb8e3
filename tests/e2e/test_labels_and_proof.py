"""Parcel labels, scans and proof of delivery over HTTP, as a merchant, an operator, a driver's
phone and a customer meet them: label PDFs read back, load scans before departure, the wrong
parcel at the door refused with nothing written, the proof read back with its images fetched
from the local S3, and uploads bounded by their presigned POST's policy."""

from __future__ import annotations

import base64
import io
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pypdfium2
import pytest
import requests
import zxingcpp

from tests.e2e.conftest import Runtime
from tests.e2e.test_driver_events import dispatched, located_order

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 80  # 20 KB: within a photo's 10 KB..5 MB
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00signature" * 100  # 1 KB: a signature's size


def two_parcels_first(external_id: str, lat: float, lng: float) -> dict[str, Any]:
    body = located_order(external_id, lat, lng)
    if external_id.endswith("-0"):
        body["parcels"] = [{"weight_kg": 1.5, "size": "S"}, {"weight_kg": 4.0, "size": "L"}]
    return body


@pytest.fixture(scope="module")
def planned(runtime: Runtime) -> dict[str, Any]:
    found = dispatched(runtime, vehicles=1, orders=3, make_order=two_parcels_first)
    [route] = found["run"]["routes"]
    key = found["api_key"]
    orders = {
        o["order_id"]: runtime.merchant(key, "GET", f"/v1/orders/{o['order_id']}").json()
        for o in found["orders"]
    }
    # An order of the same merchant left out of the run: its parcel is on no route.
    depot = found["run"]["depot_id"]
    stray = runtime.merchant(
        key, "POST", "/v1/orders", json=located_order(f"stray-{depot}", 51.51, -0.11)
    ).json()
    return {
        "route": route,
        "run": found["run"],
        "key": key,
        "orders": orders,
        "first": found["orders"][0]["order_id"],
        "stray_label": stray["parcels"][0]["label"],
    }


def labels(order: dict[str, Any]) -> list[str]:
    return [p["label"] for p in order["parcels"]]


def read_pdf(pdf: bytes) -> list[tuple[str, dict[str, str]]]:
    """Each page's text and its barcodes by format, decoded from the rendered page."""
    pages = []
    for page in pypdfium2.PdfDocument(io.BytesIO(pdf)):
        image = page.render(scale=3).to_pil()
        codes = {r.format.name: r.text for r in zxingcpp.read_barcodes(image)}
        pages.append((page.get_textpage().get_text_bounded(), codes))
    return pages


def event(runtime: Runtime, route: dict[str, Any], **body: Any) -> requests.Response:
    return requests.post(
        runtime.url(f"/v1/routes/{route['route_id']}/events"),
        json=body,
        headers={"Authorization": f"Bearer {route['driver_token']}"},
        timeout=30,
    )


def upload_form(
    runtime: Runtime, route: dict[str, Any], order_id: str, kind: str, content_type: str
) -> dict[str, Any]:
    answer = requests.post(
        runtime.url(f"/v1/routes/{route['route_id']}/proof-uploads"),
        json={"order_id": order_id, "kind": kind, "content_type": content_type},
        headers={"Authorization": f"Bearer {route['driver_token']}"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def post_to_s3(form: dict[str, Any], data: bytes, **fields: str) -> requests.Response:
    """The phone's upload: the form's fields (overridden where given) and the file, to S3."""
    return requests.post(
        form["url"],
        data=form["fields"] | fields,
        files={"file": ("proof", data)},
        timeout=60,
    )


def test_label_pdfs_read_back_for_the_merchant_and_the_operator(
    runtime: Runtime, planned: dict[str, Any], second_merchant: dict[str, str]
) -> None:
    first = planned["orders"][planned["first"]]
    assert all(label.startswith("LM") and len(label) == 18 for label in labels(first))

    pdf = runtime.merchant(planned["key"], "GET", f"/v1/orders/{first['order_id']}/labels")
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["Content-Type"] == "application/pdf"
    pages = read_pdf(pdf.content)
    assert len(pages) == 2, "one page a parcel"
    stop_no = [s["order_id"] for s in planned["route"]["stops"]].index(first["order_id"]) + 1
    for n, (text, codes) in enumerate(pages, start=1):
        assert f"parcel {n} of 2" in text and first["tracking_code"] in text
        assert f"stop {stop_no}" in text and "Grace Hopper" in text
        assert codes == {"Code128": labels(first)[n - 1], "QRCode": labels(first)[n - 1]}

    theirs = runtime.merchant(
        second_merchant["api_key"], "GET", f"/v1/orders/{first['order_id']}/labels"
    )
    assert theirs.status_code == 404, "another merchant's order is not found"

    depot, run_id = planned["run"]["depot_id"], planned["run"]["run_id"]
    run_pdf = runtime.admin("GET", f"/v1/depots/{depot}/labels?run_id={run_id}")
    assert run_pdf.status_code == 200, run_pdf.text
    loading = [
        label
        for stop in reversed(planned["route"]["stops"])
        for label in labels(planned["orders"][stop["order_id"]])
    ]
    assert [codes["Code128"] for _, codes in read_pdf(run_pdf.content)] == loading
    assert runtime.admin("GET", f"/v1/depots/{depot}/labels").status_code == 422
    assert runtime.admin("GET", f"/v1/depots/dep_other/labels?run_id={run_id}").status_code == 404
    as_merchant = runtime.merchant(
        planned["key"], "GET", f"/v1/depots/{depot}/labels?run_id={run_id}"
    )
    assert as_merchant.status_code == 401


def test_load_scans_then_departure_lists_what_was_not_loaded(
    runtime: Runtime, planned: dict[str, Any]
) -> None:
    route, first = planned["route"], planned["orders"][planned["first"]]
    loaded = labels(first)[0]
    scans = [event(runtime, route, type="scanned", label=loaded, event_id=f"s-{n}") for n in (1, 2)]
    assert [s.status_code for s in scans] == [202, 202], scans[0].text
    assert [s.json()["loaded"] for s in scans] == [1, 1], "the same parcel loaded once"

    for label in (planned["stray_label"], "LMNOTALABELOFANYONE"):
        wrong = event(runtime, route, type="scanned", label=label)
        assert wrong.status_code == 409, wrong.text
        assert wrong.json()["error"]["code"] == "wrong_parcel"
        assert label in wrong.json()["error"]["message"]
    assert event(runtime, route, type="scanned").status_code == 422, "a scan names its label"

    departed = event(runtime, route, type="departed", event_id="dep-labels")
    assert departed.status_code == 202, departed.text
    expected = [
        label
        for stop in route["stops"]
        for label in labels(planned["orders"][stop["order_id"]])
        if label != loaded
    ]
    assert departed.json()["not_loaded"] == expected
    run = runtime.admin("GET", f"/v1/dispatch-runs/{planned['run']['run_id']}").json()
    [shown] = run["routes"]
    assert shown["loaded"] == [loaded] and shown["not_loaded"] == expected


def test_the_wrong_parcel_at_the_door_changes_nothing_and_the_proof_reads_back(
    runtime: Runtime, planned: dict[str, Any]
) -> None:
    route, key = planned["route"], planned["key"]
    order_id = planned["first"]
    first = planned["orders"][order_id]
    other = next(o for i, o in planned["orders"].items() if i != order_id)
    path = f"/v1/orders/{order_id}"
    photo = upload_form(runtime, route, order_id, "photo", "image/jpeg")
    signature = upload_form(runtime, route, order_id, "signature", "image/png")
    assert post_to_s3(photo, JPEG).status_code in (200, 201, 204)
    assert post_to_s3(signature, PNG).status_code in (200, 201, 204)
    before = runtime.merchant(key, "GET", path).json()
    run_before = runtime.admin("GET", f"/v1/dispatch-runs/{planned['run']['run_id']}").json()

    proof = {
        "recipient_name": "Grace Hopper",
        "safe_place": "behind the blue gate",
        "photo_key": photo["key"],
        "signature_key": signature["key"],
    }
    wrong = event(
        runtime,
        route,
        type="delivered",
        order_id=order_id,
        event_id="door-wrong",
        labels=[labels(first)[0], labels(other)[0]],
        proof=proof,
        lat=51.5041,
        lng=-0.1199,
    )
    assert wrong.status_code == 409, wrong.text
    assert wrong.json()["error"]["code"] == "wrong_parcel"
    assert labels(other)[0] in wrong.json()["error"]["message"]
    after = runtime.merchant(key, "GET", path).json()
    assert after["status"] == before["status"] == "out_for_delivery"
    assert after["timeline"] == before["timeline"] and after["updated_at"] == before["updated_at"]
    run_after = runtime.admin("GET", f"/v1/dispatch-runs/{planned['run']['run_id']}").json()
    assert run_after["routes"][0]["stops"] == run_before["routes"][0]["stops"]
    assert runtime.merchant(key, "GET", f"{path}/proof").status_code == 404

    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    done = event(
        runtime,
        route,
        type="delivered",
        order_id=order_id,
        event_id="door-right",
        labels=[labels(first)[0]],
        proof=proof,
        lat=51.5041,
        lng=-0.1199,
        at=at.isoformat(),
    )
    assert done.status_code == 202, done.text
    read = runtime.merchant(key, "GET", f"{path}/proof")
    assert read.status_code == 200, read.text
    shown = read.json()
    assert shown["recipient_name"] == "Grace Hopper"  # the merchant reads all of it
    assert shown["safe_place"] == "behind the blue gate"
    assert shown["labels_scanned"] == [labels(first)[0]]
    assert shown["labels_missing"] == [labels(first)[1]], "delivered without every parcel scanned"
    assert shown["location"] == {"lat": 51.5041, "lng": -0.1199}
    assert shown["at"] == at.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "the event's time"
    assert requests.get(shown["photo_url"], timeout=30).content == JPEG
    assert requests.get(shown["signature_url"], timeout=30).content == PNG

    # The outbox heard of the delivery once (the refused event put nothing in it).
    deadline = time.monotonic() + 60
    sent: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        sent = runtime.merchant(key, "GET", f"{path}/notifications").json()["email"]
        if any(m["type"] == "order.delivered" for m in sent):
            break
        time.sleep(0.5)
    time.sleep(1)
    sent = runtime.merchant(key, "GET", f"{path}/notifications").json()["email"]
    assert [m["type"] for m in sent].count("order.delivered") == 1

    # The customer sees who took it (first name), the photo and the safe place; never the fix,
    # the signature or the recipient's last name.
    page = requests.get(runtime.url(f"/track/{first['tracking_code']}"), timeout=30)
    assert page.status_code == 200
    assert "behind the blue gate" in page.text and 'id="proof-photo"' in page.text
    assert 'id="received-by">Received by Grace<' in page.text
    for private in ("51.5041", "-0.1199", signature["key"], "Hopper", "Baker Street"):
        assert private not in page.text
    photo_src = page.text.split('id="proof-photo" src="')[1].split('"')[0].replace("&amp;", "&")
    assert requests.get(photo_src, timeout=30).content == JPEG
    public = requests.get(runtime.url(f"/v1/track/{first['tracking_code']}"), timeout=30).json()
    assert set(public["proof"]) == {"handed_over", "received_by", "photo_url", "safe_place"}
    assert public["proof"]["received_by"] == "Grace"
    assert "Hopper" not in str(public)


def test_uploads_are_bounded_by_their_policy_and_checked_when_cited(
    runtime: Runtime, planned: dict[str, Any]
) -> None:
    route = planned["route"]
    order_id = planned["route"]["stops"][-1]["order_id"]
    if order_id == planned["first"]:
        order_id = planned["route"]["stops"][0]["order_id"]
    form = upload_form(runtime, route, order_id, "photo", "image/webp")
    assert form["key"].startswith(f"proofs/{route['route_id']}/{order_id}/photo-")
    policy = json.loads(base64.b64decode(form["fields"]["policy"]))
    conditions = policy["conditions"]
    assert ["content-length-range", 10_000, 5_000_000] in conditions
    assert {"Content-Type": "image/webp"} in conditions
    assert ["starts-with", "$Content-Type", "image/"] in conditions
    assert {"key": form["key"]} in conditions
    signature = upload_form(runtime, route, order_id, "signature", "image/png")
    assert ["content-length-range", 100, 512_000] in json.loads(
        base64.b64decode(signature["fields"]["policy"])
    )["conditions"]

    refused = requests.post(
        runtime.url(f"/v1/routes/{route['route_id']}/proof-uploads"),
        json={"order_id": order_id, "content_type": "text/html"},
        headers={"Authorization": f"Bearer {route['driver_token']}"},
        timeout=30,
    )
    assert refused.status_code == 422, "images only"

    # moto's S3 enforces none of a POST policy's conditions (AWS does): the oversized photo
    # and the text file land; the event citing either is refused, and nothing changes.
    too_big = post_to_s3(form, b"\xff\xd8" + b"x" * 5_000_001, **{"Content-Type": "image/webp"})
    assert too_big.status_code in (200, 201, 204), "moto takes what S3 would refuse"
    text = upload_form(runtime, route, order_id, "photo", "image/jpeg")
    assert post_to_s3(text, b"not an image" * 2000, **{"Content-Type": "text/plain"}).ok
    never = upload_form(runtime, route, order_id, "photo", "image/jpeg")  # nothing uploaded
    foreign = f"proofs/{route['route_id']}/{planned['first']}/photo-0000.jpg"
    for key in (form["key"], text["key"], never["key"], foreign, signature["key"]):
        answer = event(
            runtime, route, type="delivered", order_id=order_id, proof={"photo_key": key}
        )
        assert answer.status_code == 422, (key, answer.text)
        assert answer.json()["error"]["field"] == "proof.photo_key"
    order = runtime.merchant(planned["key"], "GET", f"/v1/orders/{order_id}").json()
    assert order["status"] == "out_for_delivery"
