"""The customer's messages, rendered from the Jinja2 templates in notify/templates: per message
type an email (subject, HTML, text) and an SMS kept to two GSM-7 segments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from chalicelib.notify.messages import MESSAGE_TYPES
from chalicelib.notify.sms_segments import gsm7_safe

TEMPLATES = Path(__file__).parent / "templates"
ETA_MARGIN = timedelta(minutes=30)  # the window shown is the ETA plus or minus this

STATUS_WORDS = {
    "order.confirmed": "Order confirmed",
    "order.planned": "Delivery scheduled",
    "order.out_for_delivery": "Out for delivery",
    "order.arriving": "Arriving soon",
    "order.delayed": "Delayed",
    "order.delivered": "Delivered",
    "order.failed": "Delivery attempt failed",
    "order.in_locker": "Ready for pickup",
    "order.cancelled": "Cancelled",
}


@dataclass(frozen=True)
class EtaWindow:
    day: str  # "Tue 14 May"
    start: str  # "14:30"
    end: str
    zone: str  # "BST", "UTC"


@dataclass(frozen=True)
class Notice:
    """Everything a template may say about one message: no address, no last name."""

    type: str
    first_name: str
    merchant: str
    tracking_url: str
    eta: EtaWindow | None = None
    reason: str | None = None
    pickup_code: str | None = None
    next_step: str | None = None  # after a failed attempt: rescheduled | returning

    @property
    def status_words(self) -> str:
        return STATUS_WORDS[self.type]


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


def eta_window(eta: str | None, timezone: str | None) -> EtaWindow | None:
    """ETA +/- 30 minutes in the depot's local time (UTC when the zone is unknown)."""
    if not eta:
        return None
    at = datetime.fromisoformat(eta.replace("Z", "+00:00"))
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    try:
        zone: Any = ZoneInfo(timezone) if timezone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    start, end = (at - ETA_MARGIN).astimezone(zone), (at + ETA_MARGIN).astimezone(zone)
    return EtaWindow(
        day=f"{start:%a} {start.day} {start:%b}",
        start=f"{start:%H:%M}",
        end=f"{end:%H:%M}",
        zone=start.tzname() or "UTC",
    )


def _sms(value: Any, limit: int) -> str:
    """A value fit for an SMS: in GSM-7 and at most `limit` characters."""
    text = gsm7_safe(" ".join(str(value).split()))
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "."


class Renderer:
    def __init__(self, directory: Path = TEMPLATES) -> None:
        self._env = Environment(
            loader=FileSystemLoader(directory),
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters["sms"] = _sms

    @staticmethod
    def knows(message_type: str) -> bool:
        return message_type in MESSAGE_TYPES

    def _render(self, notice: Notice, part: str) -> str:
        template = self._env.get_template(f"{notice.type}/{part}")
        context = {
            "type": notice.type,
            "first_name": notice.first_name or "there",
            "merchant": notice.merchant,
            "tracking_url": notice.tracking_url,
            "eta": notice.eta,
            "reason": notice.reason,
            "pickup_code": notice.pickup_code,
            "next_step": notice.next_step,
            "status_words": notice.status_words,
        }
        if part.startswith("body"):
            context["subject"] = self._subject(notice)
        return template.render(context).strip()

    def _subject(self, notice: Notice) -> str:
        return " ".join(
            self._env.get_template(f"{notice.type}/subject.txt.j2")
            .render({"merchant": notice.merchant, "eta": notice.eta})
            .split()
        )

    def email(self, notice: Notice) -> RenderedEmail:
        return RenderedEmail(
            subject=self._subject(notice),
            html=self._render(notice, "body.html.j2"),
            text=self._render(notice, "body.txt.j2"),
        )

    def sms(self, notice: Notice) -> str:
        return " ".join(self._render(notice, "sms.txt.j2").split())
