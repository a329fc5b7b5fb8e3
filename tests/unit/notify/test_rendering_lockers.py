"""Locker messages: the pickup code as digits and as a QR code, the locker, the deadline in the
depot's time, a rotated code, the reminder, collection, expiry, and a full locker's way out."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import segno

from chalicelib.notify.pickup_qr import BORDER, CONTENT_ID, SCALE
from chalicelib.notify.rendering import (
    LockerPlace,
    Notice,
    Renderer,
    distance_words,
    local_time,
    locker_place,
)
from chalicelib.notify.sms_segments import segments
from tests.unit.notify import png

URL = "https://lastmile.example/track/ABCDEFGHJKLMNPQR"
CODE = "40719263"
TOOLEY = LockerPlace("Tooley Street", "1 Tooley St, London SE1 2QN", "daily 24 hours")
BRIDGE = LockerPlace("London Bridge", None, "Mon-Sat 07:00-22:00", "350 m")
LOCKER_TYPES = (
    "order.in_locker",
    "order.pickup_reminder",
    "order.collected",
    "order.locker_expired",
    "order.locker_full",
)
renderer = Renderer()


def notice(message_type: str = "order.in_locker", **overrides: Any) -> Notice:
    fields: dict[str, Any] = {
        "type": message_type,
        "first_name": "Grace",
        "merchant": "Harbour Books",
        "tracking_url": URL,
        "locker": TOOLEY,
        "pickup_by": local_time("2025-05-14T17:30:00Z", "Europe/London"),
    }
    if message_type == "order.in_locker":
        fields["pickup_code"] = CODE
    if message_type == "order.locker_full":
        fields["alternative"] = BRIDGE
    fields.update(overrides)
    return Notice(**fields)


def test_the_deadline_is_shown_in_the_depot_local_time() -> None:
    assert local_time("2025-05-14T17:30:00Z", "Europe/London") == "Wed 14 May 18:30 BST"
    assert local_time("2025-01-10T17:30:00+00:00", "Europe/London") == "Fri 10 Jan 17:30 GMT"
    assert local_time("2025-05-14T17:30:00Z", "Europe/Paris") == "Wed 14 May 19:30 CEST"
    assert local_time("2025-05-14T17:30:00Z", "Not/AZone") == "Wed 14 May 17:30 UTC"
    assert local_time(None, "Europe/London") is None


@pytest.mark.parametrize("message_type", LOCKER_TYPES)
def test_every_locker_message_names_the_locker_on_every_part(message_type: str) -> None:
    email, sms = renderer.email(notice(message_type)), renderer.sms(notice(message_type))

    for part in (email.text, email.html, sms):
        assert "Tooley Street" in part
    assert segments(sms) <= 2


def test_in_locker_carries_the_code_the_locker_and_the_deadline_everywhere() -> None:
    email, sms = renderer.email(notice()), renderer.sms(notice())

    assert email.subject == "Harbour Books: your parcel is ready for pickup at Tooley Street"
    assert CODE not in email.subject  # subjects show on lock screens
    for part in (email.text, email.html):
        assert CODE in part
        assert "1 Tooley St, London SE1 2QN" in part and "daily 24 hours" in part
        assert "Wed 14 May 18:30 BST" in part
        assert "goes back to Harbour Books" in part
    assert f"Pickup code: {CODE}." in sms
    assert "Tooley Street" in sms and "Collect by Wed 14 May 18:30 BST." in sms


def test_the_in_locker_email_shows_the_code_as_a_qr_code_attached_inline() -> None:
    email = renderer.email(notice())

    [qr] = email.attachments
    assert (qr.content_id, qr.content_type, qr.filename) == (
        CONTENT_ID,
        "image/png",
        "pickup-code.png",
    )
    assert f'<img src="cid:{CONTENT_ID}"' in email.html
    assert "cid:" not in email.text
    # The PNG's modules are those of a QR code of exactly the code's digits.
    expected = segno.make(CODE, micro=False)
    assert png.modules(qr.content, scale=SCALE, border=BORDER) == [
        list(row) for row in expected.matrix
    ]
    assert png.modules(qr.content, scale=SCALE, border=BORDER) != [
        list(row) for row in segno.make("40719264", micro=False).matrix
    ]
    assert base64.b64encode(qr.content)  # travels as base64


@pytest.mark.parametrize("message_type", [t for t in LOCKER_TYPES if t != "order.in_locker"])
def test_only_a_message_with_a_code_has_a_qr_code(message_type: str) -> None:
    email = renderer.email(notice(message_type))

    assert email.attachments == () and "cid:" not in email.html
    assert renderer.email(notice(pickup_code=None)).attachments == ()


def test_a_code_asked_for_again_says_it_is_new_and_the_old_one_is_void() -> None:
    email, sms = renderer.email(notice(rotated="resend")), renderer.sms(notice(rotated="resend"))

    assert email.subject == "Harbour Books: your new pickup code"
    assert "new pickup code you asked for" in email.text and "no longer works" in email.html
    assert f"new pickup code for Tooley Street: {CODE}" in sms and "no longer works" in sms
    assert email.attachments  # the new code's QR code


def test_a_longer_hold_says_so_with_the_new_deadline_and_code() -> None:
    email, sms = renderer.email(notice(rotated="extend")), renderer.sms(notice(rotated="extend"))

    assert email.subject == "Harbour Books: more time to collect your parcel"
    assert "keeping your parcel from Harbour Books for longer" in email.text
    assert "Wed 14 May 18:30 BST" in email.text and CODE in email.text
    assert "longer" in sms and CODE in sms and "Collect by Wed 14 May 18:30 BST" in sms


def test_the_reminder_gives_the_deadline_and_points_to_the_earlier_code() -> None:
    email = renderer.email(notice("order.pickup_reminder"))
    sms = renderer.sms(notice("order.pickup_reminder"))

    assert email.subject == "Harbour Books: please collect your parcel by Wed 14 May 18:30 BST"
    assert "in our earlier message" in email.text and "new one on the tracking page" in email.text
    assert "until Wed 14 May 18:30 BST" in sms and "earlier message" in sms and URL in sms


def test_collected_thanks_the_customer() -> None:
    email = renderer.email(notice("order.collected"))

    assert "has been collected from Tooley Street. Thank you!" in email.text
    assert "Thank you!" in renderer.sms(notice("order.collected"))


def test_expired_says_it_goes_back_to_the_sender() -> None:
    email = renderer.email(notice("order.locker_expired"))

    assert "was not collected from Tooley Street in time" in email.text
    assert "going back to Harbour Books" in email.text
    assert "goes back to the sender" in renderer.sms(notice("order.locker_expired"))


def test_a_full_locker_offers_the_nearest_other_locker_or_home_delivery() -> None:
    email, sms = (
        renderer.email(notice("order.locker_full")),
        renderer.sms(notice("order.locker_full")),
    )

    assert "Tooley Street has no room for your parcel" in email.text
    assert "London Bridge (350 m away)" in email.text and "Mon-Sat 07:00-22:00" in email.text
    assert "choose that locker or delivery to your home" in email.text
    assert f'<a href="{URL}">tracking page</a>' in email.html
    assert f"Choose London Bridge (350 m away) or home delivery: {URL}" in sms


def test_a_full_locker_without_an_alternative_offers_home_delivery() -> None:
    n = notice("order.locker_full", alternative=None)
    email, sms = renderer.email(n), renderer.sms(n)

    assert "choose delivery to your home" in email.text and "that locker" not in email.text
    assert f"Choose home delivery: {URL}" in sms


def test_html_escapes_a_locker_name_and_text_does_not() -> None:
    n = notice(locker=LockerPlace("<b>Locker</b> & Co", "<i>1 Road</i>", "daily 24 hours"))
    email = renderer.email(n)

    assert "<b>Locker</b>" not in email.html and "&lt;b&gt;Locker&lt;/b&gt; &amp; Co" in email.html
    assert "&lt;i&gt;1 Road&lt;/i&gt;" in email.html
    assert "<b>Locker</b> & Co" in email.text


def test_the_code_stays_out_of_a_notice_repr() -> None:
    assert CODE not in repr(notice())


def test_an_outbox_locker_becomes_a_place_with_its_distance_in_words() -> None:
    place = locker_place(
        {
            "locker_id": "lkr_1",
            "name": " London  Bridge ",
            "lat": 51.5,
            "lng": -0.08,
            "opening_hours": "Mon-Sat 07:00-22:00",
            "distance_m": 1234.5,
        }
    )
    assert place == LockerPlace("London Bridge", None, "Mon-Sat 07:00-22:00", "1.2 km")
    assert locker_place({"name": ""}) is None and locker_place(None) is None
    assert [distance_words(m) for m in (0, 347, 994, 995, 5160)] == [
        "0 m",
        "350 m",
        "990 m",
        "1.0 km",
        "5.2 km",
    ]
