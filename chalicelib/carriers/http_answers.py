"""A partner carrier's HTTP answer read the one way every carrier adapter reads it: the JSON
object of a 2xx, CarrierUnavailable for what is worth asking again, CarrierDeclined for a
refusal. What differs between carriers (their names, their error bodies) the adapters pass in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from chalicelib.carriers.ports import CarrierDeclined, CarrierUnavailable

TIMEOUT = (3.05, 10)  # connect, read (seconds): a slow carrier is retried, not waited on


def json_answer(
    session: requests.Session,
    method: str,
    url: str,
    *,
    carrier: str,
    error_code: Callable[[dict[str, Any]], object],
    **kwargs: Any,
) -> dict[str, Any]:
    """`method url` asked of `carrier` (its name as the messages say it) within TIMEOUT, and
    its answer: no answer, 429 or 5xx raise CarrierUnavailable; any other answer that is not
    a 2xx raises CarrierDeclined naming its status and the code `error_code` reads from the
    carrier's error body (when that is a JSON object); a 2xx that is not a JSON object is
    CarrierUnavailable (nothing to act on, so ask again). `kwargs` go to `session.request`."""
    try:
        response = session.request(method, url, timeout=TIMEOUT, **kwargs)
    except requests.RequestException as exc:
        raise CarrierUnavailable(f"{carrier} did not answer ({type(exc).__name__})") from exc
    status = response.status_code
    if status == 429 or status >= 500:
        raise CarrierUnavailable(f"{carrier} answered {status}")
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not 200 <= status < 300:
        code = error_code(answer) if isinstance(answer, dict) else None
        raise CarrierDeclined(f"{carrier} answered {status} ({code or 'no code'})")
    if not isinstance(answer, dict):
        raise CarrierUnavailable(f"{carrier}'s answer is not a JSON object")
    return answer
