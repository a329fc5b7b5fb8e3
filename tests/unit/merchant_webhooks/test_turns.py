"""Endpoints take turns in a retry run: round-robin, a bounded number in flight each (one
while failing), paused after failures in a row, pages fetched as they are needed."""

from __future__ import annotations

from collections import Counter

from chalicelib.merchant_webhooks.deliveries import Delivery, QueuedEndpoint
from chalicelib.merchant_webhooks.endpoints import Endpoint
from chalicelib.merchant_webhooks.turns import Cursor, EndpointTurn, Turns


def an_endpoint(endpoint_id: str, **overrides: object) -> Endpoint:
    fields: dict[str, object] = {
        "endpoint_id": endpoint_id,
        "merchant_id": "mer_1",
        "url": "https://shop.example/hooks",
        "types": ("order.confirmed",),
        "created_at": "2025-05-14T09:00:00.000Z",
    }
    return Endpoint(**(fields | overrides))  # type: ignore[arg-type]


class Pages:
    """An endpoint's due deliveries served in pages, counting the fetches."""

    def __init__(self, counts: dict[str, int], page: int = 2) -> None:
        self.due = {
            endpoint_id: [
                Delivery(endpoint_id, "mer_1", f"ord_{n}", f"sk{n}", "order.confirmed", "m", "{}")
                for n in range(count)
            ]
            for endpoint_id, count in counts.items()
        }
        self.page = page
        self.fetches: Counter[str] = Counter()

    def __call__(self, endpoint_id: str, cursor: Cursor) -> tuple[list[Delivery], Cursor]:
        self.fetches[endpoint_id] += 1
        start = int(cursor["at"]) if cursor else 0
        page = self.due[endpoint_id][start : start + self.page]
        more = start + self.page < len(self.due[endpoint_id])
        return page, ({"at": start + self.page} if more else None)


def turns_of(pages: Pages, endpoints: dict[str, Endpoint | None], **limits: int) -> Turns:
    return Turns(
        EndpointTurn(
            QueuedEndpoint("mer_1", endpoint_id, "2025-05-14T09:00:00.000Z"),
            lambda e=endpoint: e,  # type: ignore[misc]
            pages,
            in_flight=limits.get("in_flight", 4),
            pause_after=limits.get("pause_after", 3),
        )
        for endpoint_id, endpoint in endpoints.items()
    )


def test_endpoints_take_turns_one_delivery_each() -> None:
    pages = Pages({"ep_a": 6, "ep_b": 2, "ep_c": 1})
    turns = turns_of(pages, {e: an_endpoint(e) for e in ("ep_a", "ep_b", "ep_c")})

    order = []
    while (picked := turns.next()) is not None:
        turn, _ = picked
        order.append(turn.queued.endpoint_id)
        turn.ended(True)
        turns.back(turn)

    assert order == ["ep_a", "ep_b", "ep_c", "ep_a", "ep_b", "ep_a", "ep_a", "ep_a", "ep_a"]
    assert all(turn.exhausted for turn in turns.all)
    assert pages.fetches == {"ep_a": 3, "ep_b": 1, "ep_c": 1}  # pages as needed, no more


def test_an_endpoint_at_its_in_flight_limit_waits_and_the_others_go_on() -> None:
    pages = Pages({"ep_a": 10, "ep_b": 10})
    turns = turns_of(pages, {"ep_a": an_endpoint("ep_a"), "ep_b": an_endpoint("ep_b")}, in_flight=2)

    started = [turns.next() for _ in range(4)]
    assert [p[0].queued.endpoint_id for p in started if p] == ["ep_a", "ep_b", "ep_a", "ep_b"]
    assert turns.next() is None  # both at their limit: nothing may start
    first_a = started[0]
    assert first_a is not None
    first_a[0].ended(True)
    turns.back(first_a[0])
    again = turns.next()
    assert again is not None and again[0].queued.endpoint_id == "ep_a"


def test_a_failing_endpoint_is_probed_one_at_a_time_and_paused_after_failures() -> None:
    pages = Pages({"ep_bad": 50})
    failing = an_endpoint("ep_bad", failing_since="2025-05-14T08:00:00.000Z")
    turns = turns_of(pages, {"ep_bad": failing}, in_flight=4, pause_after=3)

    tried = 0
    while (picked := turns.next()) is not None:
        turn, _ = picked
        tried += 1
        assert turn.running == 1  # never a second attempt beside the probe
        turn.ended(False)
        turns.back(turn)

    assert tried == 3 and turns.all[0].paused and not turns.all[0].exhausted


def test_one_success_opens_a_failing_endpoint_to_its_full_limit() -> None:
    pages = Pages({"ep_bad": 50})
    turns = turns_of(pages, {"ep_bad": an_endpoint("ep_bad", abandoned_in_a_row=2)}, in_flight=3)
    probe = turns.next()
    assert probe is not None and turns.next() is None
    probe[0].ended(True)
    turns.back(probe[0])

    assert [turns.next() is not None for _ in range(4)] == [True, True, True, False]


def test_a_deleted_endpoints_deliveries_are_given_up_without_pausing() -> None:
    pages = Pages({"ep_gone": 7})
    turns = turns_of(pages, {"ep_gone": None}, pause_after=1)

    given_up = 0
    while (picked := turns.next()) is not None:
        picked[0].ended(False)
        turns.back(picked[0])
        given_up += 1

    assert given_up == 7 and turns.all[0].exhausted
