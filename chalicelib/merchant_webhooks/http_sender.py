"""POSTing a signed event to a merchant's endpoint with `requests`: any answer or transport
failure comes back as an Answer (the dispatcher decides what it means), never as an exception."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import requests

TIMEOUT_S = 5.0
KEEP_ANSWER_CHARS = 200  # of the endpoint's reply, for the merchant to read in the record


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no HTTP answer (timeout, refused, TLS error)
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Sender(Protocol):
    def post(self, url: str, body: str, headers: Mapping[str, str]) -> Answer: ...


class RequestsSender:
    def __init__(self, session: requests.Session | None = None, timeout_s: float = TIMEOUT_S):
        self._session = session or requests.Session()
        self._timeout = timeout_s

    def post(self, url: str, body: str, headers: Mapping[str, str]) -> Answer:
        try:
            # No redirects: a 3xx is a failure, so a URL cannot bounce us to an internal host.
            with self._session.post(
                url,
                data=body.encode(),
                headers=dict(headers),
                timeout=self._timeout,
                allow_redirects=False,
                stream=True,
            ) as response:
                detail = next(response.iter_content(KEEP_ANSWER_CHARS), b"")
                return Answer(response.status_code, detail.decode("utf-8", "replace"))
        except requests.RequestException as exc:
            return Answer(None, f"{type(exc).__name__}: {exc}"[:KEEP_ANSWER_CHARS])
