import math
import re
from dataclasses import replace

import pytest

from chalicelib.domain.errors import IllegalTransition
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import NO_COORDINATES, new_tracking_code, receive
from chalicelib.intake.canonical import parse_order
from tests.builders import an_order


def draft(**overrides: object):
    return parse_order(an_order(**overrides))


def test_order_with_coordinates_becomes_ready_with_its_timeline() -> None:
    order, events = receive(draft(), merchant_id="m1", depot_id="d1", source="api")
    assert order.status is OrderStatus.READY
    assert [e.status for e in events] == [OrderStatus.RECEIVED, OrderStatus.READY]
    assert order.attention_reason is None


def test_order_without_coordinates_is_held_with_the_reason() -> None:
    address = {"line1": "1 High St", "city": "Leeds", "postcode": "LS1 1AA", "country": "GB"}
    order, events = receive(draft(address=address), merchant_id="m1", depot_id="d1", source="api")
    assert order.status is OrderStatus.NEEDS_ATTENTION
    assert order.attention_reason == NO_COORDINATES
    assert events[-1].note == NO_COORDINATES


def test_a_delivered_order_cannot_go_back() -> None:
    order, _ = receive(draft(), merchant_id="m1", depot_id="d1", source="api")
    delivered = replace(order, status=OrderStatus.DELIVERED)
    with pytest.raises(IllegalTransition):
        delivered.moved_to(OrderStatus.READY, at="2026-01-01T00:00:00Z")


def test_tracking_codes_carry_at_least_64_random_bits() -> None:
    codes = {new_tracking_code() for _ in range(2000)}
    assert len(codes) == 2000
    sample = next(iter(codes))
    alphabet = set("".join(codes))
    assert re.fullmatch(r"[A-Z0-9]+", sample)
    assert len(sample) * math.log2(len(alphabet)) >= 64
