"""The customer's messages, rendered from the Jinja2 templates in notify/templates: per message
type an email (subject, HTML, text, and any inline image) and an SMS kept to two GSM-7 segments."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.domain.eta_windows import eta_window as told_window
from chalicelib.domain.times import parse_iso
from chalicelib.notify.messages import MESSAGE_TYPES, InlineAttachment
from chalicelib.notify.pickup_qr import CONTENT_ID, SHOWN_PX, pickup_qr
from chalicelib.notify.sms_segments import gsm7_safe

TEMPLATES = Path(__file__).parent / "templates"

STATUS_WORDS = {
    "order.confirmed": "Order confirmed",
    "order.planned": "Delivery scheduled",
    "order.out_for_delivery": "Out for delivery",
    "order.arriving": "Arriving soon",
    "order.delayed": "Delayed",
    "order.retimed": "New delivery time",
    "order.delivered": "Delivered",
    "order.failed": "Delivery attempt failed",
    "order.in_locker": "Ready for pickup",
    "order.pickup_reminder": "Waiting for pickup",
    "order.collected": "Collected",
    "order.locker_expired": "Not collected",
    "order.locker_full": "Locker full",
    "order.cancelled": "Cancelled",
    "order.replanning": "Being re-planned",
    "order.needs_attention": "Not yet scheduled",
}


@dataclass(frozen=True)
class EtaWindow:
    day: str  # "Tue 14 May"
    start: str  # "14:30"
    end: str
    zone: str  # "BST", "UTC"


@dataclass(frozen=True)
class LockerPlace:
    """A locker as the customer's messages name it (a public place, not the customer's)."""

    name: str
    address: str | None = None  # "1 Tooley St, London SE1 2QN"
    hours: str | None = None  # "daily 24 hours", "Mon-Sat 07:00-22:00"
    distance: str | None = None  # an alternative's, from the chosen locker: "350 m", "1.2 km"


@dataclass(frozen=True)
class Notice:
    """Everything a template may say about one message: no address, no last name."""

    type: str
    first_name: str
    merchant: str
    tracking_url: str
    eta: EtaWindow | None = None
    reason: str | None = None
    # Opened from its seal just before rendering, never kept: repr leaves it out of any log.
    pickup_code: str | None = field(default=None, repr=False)
    next_step: str | None = None  # after a failed attempt: rescheduled | returning
    locker: LockerPlace | None = None
    pickup_by: str | None = None  # the deadline in the depot's time: "Tue 14 May 18:30 BST"
    rotated: str | None = None  # a new code the customer asked for: resend | extend (longer hold)
    alternative: LockerPlace | None = None  # a full locker's nearest other one with room

    @property
    def status_words(self) -> str:
        return STATUS_WORDS[self.type]


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str
    attachments: tuple[InlineAttachment, ...] = ()


def _zone(timezone: str | None) -> tzinfo:
    try:
        return ZoneInfo(timezone) if timezone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _moment(iso: str) -> datetime:
    at = parse_iso(iso)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def eta_window(
    eta: str | None, timezone: str | None, told: Mapping[str, Any] | None = None
) -> EtaWindow | None:
    """The window told with the ETA (`told`: {start, end}) in the depot's local time (UTC when
    the zone is unknown); without one, the ETA +/- 30 minutes."""
    if not eta:
        return None
    zone = _zone(timezone)
    if told and told.get("start") and told.get("end"):
        bounds = (str(told["start"]), str(told["end"]))
    else:
        bounds = told_window(eta)
    start, end = (_moment(b).astimezone(zone) for b in bounds)
    return EtaWindow(
        day=f"{start:%a} {start.day} {start:%b}",
        start=f"{start:%H:%M}",
        end=f"{end:%H:%M}",
        zone=start.tzname() or "UTC",
    )


def local_time(at: str | None, timezone: str | None) -> str | None:
    """A moment in the depot's local time as customers read it: "Tue 14 May 18:30 BST" (UTC
    when the zone is unknown)."""
    if not at:
        return None
    moment = _moment(at).astimezone(_zone(timezone))
    return f"{moment:%a} {moment.day} {moment:%b %H:%M} {moment.tzname() or 'UTC'}"


def distance_words(metres: float) -> str:
    """A distance as customers read it: to 10 m below a kilometre ("350 m"), then "1.2 km"."""
    rounded = round(metres / 10) * 10
    return f"{rounded} m" if rounded < 1000 else f"{metres / 1000:.1f} km"


def locker_place(view: Mapping[str, Any] | None) -> LockerPlace | None:
    """The locker of an outbox message (`locker`, `alternative`), None when it has none."""
    if not isinstance(view, Mapping) or not str(view.get("name") or "").strip():
        return None
    distance = view.get("distance_m")
    return LockerPlace(
        name=" ".join(str(view["name"]).split()),
        address=" ".join(str(view["address"]).split()) if view.get("address") else None,
        hours=" ".join(str(view["opening_hours"]).split()) if view.get("opening_hours") else None,
        distance=distance_words(float(distance)) if distance is not None else None,
    )


def _sms(value: Any, limit: int) -> str:
    """A value fit for an SMS: in GSM-7 and at most `limit` characters."""
    text = gsm7_safe(" ".join(str(value).split()))
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "."


class Renderer:
    def __init__(self, directory: Path = TEMPLATES) -> None:
        # Imported here: few functions render, and jinja2 costs every cold start otherwise.
        from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

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

    def _context(self, notice: Notice) -> dict[str, Any]:
        return {
            "type": notice.type,
            "first_name": notice.first_name or "there",
            "merchant": notice.merchant,
            "tracking_url": notice.tracking_url,
            "eta": notice.eta,
            "reason": notice.reason,
            "pickup_code": notice.pickup_code,
            "next_step": notice.next_step,
            "status_words": notice.status_words,
            "locker": notice.locker,
            "pickup_by": notice.pickup_by,
            "rotated": notice.rotated,
            "alternative": notice.alternative,
            "qr": None,
        }

    def _render(self, notice: Notice, part: str, **extra: Any) -> str:
        template = self._env.get_template(f"{notice.type}/{part}")
        context = self._context(notice) | extra
        if part.startswith("body"):
            context["subject"] = self._subject(notice)
        return template.render(context).strip()

    def _subject(self, notice: Notice) -> str:
        template = self._env.get_template(f"{notice.type}/subject.txt.j2")
        return " ".join(template.render(self._context(notice)).split())

    def email(self, notice: Notice) -> RenderedEmail:
        """The email; with a pickup code, its HTML also shows the code as a QR code, attached
        inline (only when the template does show it)."""
        qr = {"cid": CONTENT_ID, "px": SHOWN_PX} if notice.pickup_code else None
        html = self._render(notice, "body.html.j2", qr=qr)
        attachments: tuple[InlineAttachment, ...] = ()
        if notice.pickup_code and f"cid:{CONTENT_ID}" in html:
            attachments = (pickup_qr(notice.pickup_code),)
        return RenderedEmail(
            subject=self._subject(notice),
            html=html,
            text=self._render(notice, "body.txt.j2"),
            attachments=attachments,
        )

    def sms(self, notice: Notice) -> str:
        return " ".join(self._render(notice, "sms.txt.j2").split())
