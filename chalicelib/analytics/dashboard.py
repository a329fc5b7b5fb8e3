"""The operators' dashboard at /ops, rendered on the server: jinja2 pages, charts drawn by
pygal as SVG images (data: URIs, so the page runs no script and its policy allows nothing
else), under a strict Content-Security-Policy. jinja2 and pygal are imported here, when a
page is first drawn, never by the API's other routes."""

from __future__ import annotations

import base64
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from chalicelib.analytics.emissions import FACTORS
from chalicelib.html_headers import content_security_policy, hash_source, html_headers

if TYPE_CHECKING:
    from jinja2 import Environment

COOKIE = "lm_ops"


@cache
def _environment() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(
        loader=PackageLoader("chalicelib.analytics", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def stylesheet() -> str:
    return (resources.files("chalicelib.analytics") / "templates" / "ops.css").read_text()


@cache
def headers() -> dict[str, str]:
    """No caching, no sniffing, no framing; nothing loads but the inline stylesheet (by its
    hash) and the charts' data: images; forms post back here only."""
    allowed = {"img-src": "data:", "style-src": hash_source(stylesheet())}
    return html_headers(content_security_policy(allowed), frame_options=True)


def _svg_uri(chart: Any) -> str:
    svg = chart.render(is_unicode=True)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _style() -> Any:
    from pygal.style import Style

    return Style(
        background="white",
        plot_background="white",
        foreground="#333",
        foreground_strong="#111",
        foreground_subtle="#999",
        colors=("#1b6ac9", "#d9534f", "#5cb85c", "#f0ad4e", "#6f42c1"),
        font_family="sans-serif",
    )


def _options() -> dict[str, Any]:
    # No tooltips script (pygal links a CDN's by default): the image is static.
    return {
        "js": [],
        "style": _style(),
        "width": 800,
        "height": 320,
        "disable_xml_declaration": True,
    }


def trend_chart(trend: list[dict[str, Any]]) -> str:
    """Deliveries and failed attempts per day, and the on-time rate, over the period."""
    import pygal

    chart = pygal.Bar(title="Deliveries per day", x_label_rotation=45, **_options())
    chart.x_labels = [row["key"][5:] for row in trend]
    chart.add("delivered", [row.get("delivered", 0) for row in trend])
    chart.add("failed attempts", [row.get("failed_attempts", 0) for row in trend])
    return _svg_uri(chart)


def on_time_chart(trend: list[dict[str, Any]]) -> str:
    import pygal

    chart = pygal.Line(
        title="On time and first-attempt success (%)",
        x_label_rotation=45,
        range=(0, 100),
        **_options(),
    )
    chart.x_labels = [row["key"][5:] for row in trend]

    def percent(name: str) -> list[float | None]:
        return [None if row.get(name) is None else round(row[name] * 100, 1) for row in trend]

    chart.add("on time", percent("on_time_rate"))
    chart.add("first attempt", percent("first_attempt_success_rate"))
    return _svg_uri(chart)


def reasons_chart(reasons: dict[str, int]) -> str:
    import pygal

    chart = pygal.HorizontalBar(title="Failed attempts by reason", **_options())
    for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1]):
        chart.add(reason.replace("_", " "), count)
    return _svg_uri(chart)


def login_page(form_token: str, error: str | None = None) -> str:
    return (
        _environment()
        .get_template("login.html.j2")
        .render(css=stylesheet(), form_token=form_token, error=error)
    )


def dashboard_page(overview: dict[str, Any], form_token: str) -> str:
    period = overview["kpis_period"]
    return (
        _environment()
        .get_template("dashboard.html.j2")
        .render(
            css=stylesheet(),
            form_token=form_token,
            o=overview,
            today=overview["kpis_today"],
            period=period,
            charts={
                "trend": trend_chart(overview["trend"]),
                "on_time": on_time_chart(overview["trend"]),
                "reasons": reasons_chart(period["failed_by_reason"])
                if period["failed_by_reason"]
                else None,
            },
            factors=FACTORS,
        )
    )
