"""A failed attempt's message says what happens next, in the customer's words."""

from __future__ import annotations

from chalicelib.notify.rendering import Notice, Renderer
from chalicelib.notify.sms_segments import segments


def notice(next_step: str) -> Notice:
    return Notice(
        type="order.failed",
        first_name="Ada",
        merchant="Demo Goods",
        tracking_url="https://t.example/track/ABCDEFGHJKLMNPQR",
        reason="nobody was home",
        next_step=next_step,
    )


def test_the_failed_message_says_whether_we_come_again_or_send_it_back() -> None:
    renderer = Renderer()
    again, back = renderer.email(notice("rescheduled")), renderer.email(notice("returning"))
    assert "try again" in again.text and "choose another day" in again.text
    assert "going back to Demo Goods" in back.text and "try again" not in back.text
    assert "nobody was home" in renderer.sms(notice("rescheduled"))
    assert "back to the sender" in renderer.sms(notice("returning"))
    assert all(segments(renderer.sms(notice(s))) <= 2 for s in ("rescheduled", "returning"))
