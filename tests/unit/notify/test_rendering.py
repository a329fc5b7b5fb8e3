"""Every message type renders its email and SMS; SMS stay within two segments."""

from __future__ import annotations

import pytest

from chalicelib.notify.messages import MESSAGE_TYPES
from chalicelib.notify.rendering import LockerPlace, Notice, Renderer, eta_window
from chalicelib.notify.sms_segments import MAX_SEGMENTS, is_gsm7, segments

URL = "https://track.lastmile.example/track/ABCDEFGHJKLMNPQR"
renderer = Renderer()


def notice(message_type: str, **overrides: object) -> Notice:
    fields: dict[str, object] = {
        "type": message_type,
        "first_name": "Grace",
        "merchant": "Harbour Books",
        "tracking_url": URL,
        "eta": eta_window("2025-05-14T13:45:00Z", "Europe/London"),
        "reason": "nobody at home",
        "pickup_code": "48291375",
        "locker": LockerPlace("Tooley Street", "1 Tooley St, London SE1 2QN", "daily 24 hours"),
        "pickup_by": "Wed 14 May 18:30 BST",
        "alternative": LockerPlace("London Bridge", None, "Mon-Sat 07:00-22:00", "350 m"),
    }
    fields.update(overrides)
    return Notice(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("message_type", MESSAGE_TYPES)
def test_every_type_renders_an_email_with_name_brand_status_and_link(message_type: str) -> None:
    email = renderer.email(notice(message_type))

    assert "Harbour Books" in email.subject and "\n" not in email.subject
    for part in (email.text, email.html):
        assert "Hi Grace," in part
        assert "Harbour Books" in part
        assert URL in part
        assert renderer.email(notice(message_type)).text == email.text  # deterministic
    assert notice(message_type).status_words in email.text
    assert email.html.startswith("<!doctype html>")


@pytest.mark.parametrize("message_type", MESSAGE_TYPES)
def test_every_type_renders_an_sms_with_brand_and_link(message_type: str) -> None:
    text = renderer.sms(notice(message_type))

    assert text.startswith("Harbour Books: Hi Grace,")
    if message_type != "order.cancelled":  # a cancelled parcel has nothing to track
        assert URL in text


@pytest.mark.parametrize("message_type", ["order.planned", "order.arriving"])
def test_the_eta_window_is_the_eta_plus_minus_30_minutes_in_the_depot_time(
    message_type: str,
) -> None:
    n = notice(message_type)
    email, sms = renderer.email(n), renderer.sms(n)

    assert "Wed 14 May between 14:15 and 15:15 (BST)" in email.text
    assert "14:15-15:15" in sms


def test_the_eta_window_falls_back_to_utc_without_a_known_zone() -> None:
    window = eta_window("2025-01-10T09:00:00+00:00", None)
    assert window is not None
    shown = (window.day, window.start, window.end, window.zone)
    assert shown == ("Fri 10 Jan", "08:30", "09:30", "UTC")
    assert eta_window(None, "Europe/London") is None


def test_html_escapes_what_merchants_and_customers_wrote_but_text_does_not() -> None:
    n = notice("order.failed", merchant="<b>Evil</b> & Co", first_name="<script>x</script>")
    email = renderer.email(n)

    assert "<script>" not in email.html and "&lt;script&gt;" in email.html
    assert "&lt;b&gt;Evil&lt;/b&gt; &amp; Co" in email.html
    assert "<b>Evil</b> & Co" in email.text


def test_the_pickup_code_and_the_failure_reason_are_told() -> None:
    email = renderer.email(notice("order.in_locker"))
    assert "48291375" in renderer.sms(notice("order.in_locker"))
    assert "48291375" in email.html and "48291375" in email.text
    assert "nobody at home" in renderer.sms(notice("order.failed"))


LONG = {
    "first_name": "Maximiliana-Alexandrina-Konstantinopolous",
    "merchant": "The Extraordinarily Long-Named Artisan Sourdough & Pastry Company Ltd",
    "reason": "the recipient was not at home and no safe place was available " * 3,
    "pickup_code": "123456789012",  # the longest a message may carry
    "tracking_url": "https://tracking.a-rather-long-delivery-domain.example.com/track/ABCDEFGHJKLMNPQR",
    "locker": LockerPlace(
        "Paddington Station Departures Concourse Parcel Locker Bank 17 (beside platform 1)",
        "Praed Street, Paddington Station, London W2 1HQ",
        "Mon, Tue, Wed, Thu, Fri 06:00-23:30; Sat, Sun 08:00-20:00",
    ),
    "pickup_by": "Wed 14 May 18:30 +0545",
    "alternative": LockerPlace(
        "Edgware Road Underground Station Bakerloo Line Ticket Hall Parcel Locker",
        None,
        None,
        "1.2 km",
    ),
}


@pytest.mark.parametrize("rotated", [None, "resend", "extend"])
@pytest.mark.parametrize("message_type", MESSAGE_TYPES)
def test_an_sms_with_long_names_stays_within_two_gsm7_segments(
    message_type: str, rotated: str | None
) -> None:
    text = renderer.sms(notice(message_type, rotated=rotated, **LONG))

    assert is_gsm7(text)
    assert segments(text) <= MAX_SEGMENTS, (len(text), text)
    if message_type == "order.in_locker":  # shortened names, never a shortened code
        assert LONG["pickup_code"] in text and "Collect by Wed 14 May 18:30 +0545" in text


@pytest.mark.parametrize("message_type", MESSAGE_TYPES)
def test_names_outside_gsm7_do_not_turn_an_sms_into_ucs2(message_type: str) -> None:
    text = renderer.sms(notice(message_type, first_name="Zoë Łukasz 李", merchant="Café Ünïcødé ★"))

    assert is_gsm7(text)
    assert "Hi Zoe Lukasz ?," in text and "Café" in text
    assert segments(text) <= MAX_SEGMENTS
