"""Locker messages through the notification service: the sealed pickup code is opened for its
own order only, at the moment each channel is rendered, and is never recorded or logged; a
seal that does not open fails both channels for good, with a reason and without the code."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from chalicelib.lockers.codes import CodeKeyMissing, PickupCodeKeys
from chalicelib.notify.messages import State
from chalicelib.notify.pickup_qr import CONTENT_ID
from chalicelib.notify.sms_segments import segments
from tests.unit.notify.test_service import World, an_order, message

CODE = "40719263"
KEYS = PickupCodeKeys(lambda: "unit-test-pickup-key")
TOOLEY = {
    "locker_id": "lkr_1",
    "name": "Tooley Street",
    "lat": 51.5055,
    "lng": -0.0860,
    "opening_hours": "daily 24 hours",
    "address": "1 Tooley St, London SE1 2QN",
}


class CountingCodes:
    """The real keys, counting which orders' codes were opened."""

    def __init__(self, keys: PickupCodeKeys = KEYS) -> None:
        self._keys = keys
        self.opened: list[str] = []

    def open(self, sealed: str, order_id: str) -> str:
        self.opened.append(order_id)
        return self._keys.open(sealed, order_id)


def in_locker(sealed: str | None = None, **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "locker": TOOLEY,
        "pickup_by": "2025-05-14T17:30:00Z",
        "pickup_code_sealed": KEYS.seal(CODE, "ord_1") if sealed is None else sealed,
        **extra,
    }
    return message("order.in_locker", **fields)


def recorded(world: World) -> str:
    """Every field of every delivery record, as one text to search."""
    return json.dumps(list(world.deliveries.items.values()), default=str)


def test_the_code_is_opened_for_its_order_and_sent_on_both_channels() -> None:
    codes = CountingCodes()
    world = World(pickup_codes=codes)

    world.service.handle(in_locker())

    [email], [sms] = world.email.sent, world.sms.sent
    assert CODE in email.text and CODE in email.html and CODE in sms.body
    assert "Tooley Street" in sms.body and "Collect by Wed 14 May 18:30 BST" in sms.body
    assert segments(sms.body) <= 2
    [qr] = email.attachments
    assert qr.content_id == CONTENT_ID and qr.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert f"cid:{CONTENT_ID}" in email.html
    assert codes.opened == ["ord_1", "ord_1"]  # once per channel, for the message's order
    assert world.deliveries.states() == {"email": "sent", "sms": "sent"}
    assert CODE not in recorded(world)


def test_a_message_done_before_is_not_opened_again() -> None:
    codes = CountingCodes()
    world = World(pickup_codes=codes)
    world.service.handle(in_locker())

    world.service.handle(in_locker())

    assert codes.opened == ["ord_1", "ord_1"] and len(world.email.sent) == 1


def test_a_rotated_code_and_the_deadline_come_from_the_message() -> None:
    world = World(pickup_codes=KEYS)

    world.service.handle(in_locker(rotated="extend", pickup_by="2025-05-16T08:00:00Z"))

    [email] = world.email.sent
    assert email.subject == "Harbour Books: more time to collect your parcel"
    assert "Fri 16 May 09:00 BST" in email.text and CODE in email.text


BROKEN_SEALS = {
    "another order's": KEYS.seal(CODE, "ord_2"),
    "another key's": PickupCodeKeys(lambda: "another-stage").seal(CODE, "ord_1"),
    "tampered": (lambda s: s[:-2] + ("A" if s[-2] != "A" else "B") + s[-1])(
        KEYS.seal(CODE, "ord_1")
    ),
    "not base64": "v1.@@@@",
    "too short": "v1.AAAA",
    "not a seal": CODE,
}


@pytest.mark.parametrize("sealed", BROKEN_SEALS.values(), ids=BROKEN_SEALS.keys())
def test_a_seal_that_does_not_open_fails_both_channels_for_good_without_the_code(
    sealed: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    world = World(pickup_codes=KEYS)

    with caplog.at_level(logging.DEBUG):
        outcomes = world.service.handle(in_locker(sealed))  # no raise: no redelivery loop

    assert [(str(o.channel), o.state) for o in outcomes] == [
        ("email", State.FAILED),
        ("sms", State.FAILED),
    ]
    assert world.email.sent == [] and world.sms.sent == []
    listed = world.service.list_for_order("ord_1")
    for channel in ("email", "sms"):
        [entry] = listed[channel]
        assert entry["state"] == "failed"
        assert entry["reason"].startswith("pickup code not sent: its seal does not open")
    warnings = [r for r in caplog.records if "pickup code unavailable" in r.getMessage()]
    assert len(warnings) == 2  # one per channel, with the reason but never the code
    logged = json.dumps([vars(r) for r in caplog.records], default=str)
    out = capsys.readouterr()
    for where in (recorded(world), json.dumps(listed), logged, out.out, out.err):
        assert CODE not in where
    assert [o.detail for o in outcomes if o.detail and CODE in o.detail] == []

    world.service.handle(in_locker(sealed))  # delivered again: already done, nothing sent
    assert world.email.calls == 0 and world.deliveries.states() == {
        "email": "failed",
        "sms": "failed",
    }


def test_the_code_of_another_order_is_refused_even_with_the_right_key() -> None:
    codes = CountingCodes()
    world = World(pickup_codes=codes)

    world.service.handle(in_locker(KEYS.seal(CODE, "ord_2")))

    assert codes.opened == ["ord_1", "ord_1"]  # asked as ord_1's: ord_2's seal does not open
    assert world.deliveries.states() == {"email": "failed", "sms": "failed"}


def test_without_pickup_codes_wired_a_code_cannot_be_opened_and_both_channels_fail() -> None:
    world = World()  # pickup_codes defaults to None

    outcomes = world.service.handle(in_locker())

    assert [o.state for o in outcomes] == [State.FAILED, State.FAILED]
    reason = world.service.list_for_order("ord_1")["email"][0]["reason"]
    assert reason == "pickup code not sent: no key to open it is configured"


def test_an_in_locker_message_without_a_sealed_code_fails_with_a_reason() -> None:
    world = World(pickup_codes=KEYS)

    world.service.handle(in_locker(sealed=""))

    reason = world.service.list_for_order("ord_1")["sms"][0]["reason"]
    assert reason == "pickup code not sent: the message carries none"
    assert world.sms.sent == []


def test_a_seal_holding_something_other_than_digits_is_not_sent() -> None:
    world = World(pickup_codes=KEYS)

    world.service.handle(in_locker(KEYS.seal("12<b>34", "ord_1")))

    assert world.deliveries.states() == {"email": "failed", "sms": "failed"}
    assert "12<b>34" not in recorded(world)


def test_a_missing_key_is_an_error_to_retry_not_a_broken_seal() -> None:
    world = World(pickup_codes=PickupCodeKeys(lambda: None))

    with pytest.raises(CodeKeyMissing):
        world.service.handle(in_locker())

    assert world.deliveries.states() == {"email": "retry"}  # the stream delivers it again


def test_a_customer_without_a_phone_gets_the_code_by_email_only() -> None:
    codes = CountingCodes()
    world = World(an_order(phone=None), pickup_codes=codes)

    world.service.handle(in_locker())

    assert codes.opened == ["ord_1"]  # nothing to render for the SMS: never opened for it
    assert world.deliveries.states() == {"email": "sent", "sms": "skipped"}


@pytest.mark.parametrize(
    ("message_type", "words"),
    [
        ("order.pickup_reminder", "still waiting at Tooley Street until Wed 14 May 18:30 BST"),
        ("order.collected", "collected from Tooley Street"),
        ("order.locker_expired", "not collected from Tooley Street in time"),
        ("order.locker_full", "Tooley Street has no room"),
    ],
)
def test_other_locker_messages_are_sent_without_any_code(message_type: str, words: str) -> None:
    codes = CountingCodes()
    world = World(pickup_codes=codes)
    alternative = TOOLEY | {"locker_id": "lkr_2", "name": "London Bridge", "distance_m": 350}

    world.service.handle(
        message(
            message_type,
            locker=TOOLEY,
            pickup_by="2025-05-14T17:30:00Z",
            alternative=alternative,
        )
    )

    [sms] = world.sms.sent
    assert words in sms.body
    assert codes.opened == [] and world.email.sent[0].attachments == ()
    if message_type == "order.locker_full":
        assert "London Bridge (350 m away)" in world.email.sent[0].text
