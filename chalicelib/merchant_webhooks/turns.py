"""Whose due delivery goes next in a retry run: endpoints take turns (round-robin), each with
at most a few attempts in flight (one while it is failing), and one that keeps failing in the
run waits for the next, so one dead or slow endpoint gets its share of the workers, never all."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from chalicelib.merchant_webhooks.deliveries import Delivery, QueuedEndpoint
from chalicelib.merchant_webhooks.endpoints import Endpoint

Cursor = dict[str, Any] | None
# (endpoint id, cursor) -> a page of its deliveries due now and the next page's cursor
FetchDue = Callable[[str, Cursor], tuple[list[Delivery], Cursor]]


class EndpointTurn:
    """One endpoint's due deliveries as a run takes them: a page at a time, a bounded number
    in flight, paused for the rest of the run after `pause_after` failures in a row."""

    def __init__(
        self,
        queued: QueuedEndpoint,
        load: Callable[[], Endpoint | None],
        fetch: FetchDue,
        *,
        in_flight: int,
        pause_after: int,
    ) -> None:
        self.queued = queued
        self._load = load
        self._endpoint: Endpoint | None = None
        self._loaded = False
        self._fetch = fetch
        self._buffer: deque[Delivery] = deque()
        self._cursor: Cursor = None
        self._fetched_all = False
        self._limit: int | None = None  # set when the endpoint is first read
        self._full_limit = in_flight
        self._pause_after = pause_after
        self.running = 0
        self.failures_in_a_row = 0
        self.exhausted = False  # nothing more due in this run
        self.broken = False  # an attempt raised: none more this run

    @property
    def endpoint(self) -> Endpoint | None:
        """The endpoint (None: deleted), read at its first turn: a run may never reach some."""
        if not self._loaded:
            self._endpoint, self._loaded = self._load(), True
            healthy = self._endpoint is None or self._endpoint.healthy
            # A failing endpoint is probed one attempt at a time until one succeeds.
            self._limit = self._full_limit if healthy else 1
        return self._endpoint

    @property
    def sends(self) -> bool:
        """Attempts go over HTTP (a deleted or disabled endpoint's are only given up)."""
        return self.endpoint is not None and self.endpoint.enabled

    @property
    def paused(self) -> bool:
        return self.sends and self.failures_in_a_row >= self._pause_after

    @property
    def can_start(self) -> bool:
        limit = self._limit if self.sends and self._limit else self._full_limit
        return not self.exhausted and not self.paused and not self.broken and self.running < limit

    def take(self) -> Delivery | None:
        """The next due delivery (counted in flight), or None when there is none left."""
        while not self._buffer and not self._fetched_all:
            page, self._cursor = self._fetch(self.queued.endpoint_id, self._cursor)
            self._buffer.extend(page)
            self._fetched_all = self._cursor is None
        if not self._buffer:
            self.exhausted = True
            return None
        self.running += 1
        return self._buffer.popleft()

    def ended(self, delivered: bool | None) -> None:
        """An attempt ended: delivered, failed, or (None) never made (the claim was lost)."""
        self.running -= 1
        if delivered:
            self.failures_in_a_row = 0
            self._limit = self._full_limit
        elif delivered is False and self.sends:
            self.failures_in_a_row += 1

    def raised(self) -> None:
        """An attempt raised (our fault, not the endpoint's): the endpoint sits the run out."""
        self.running -= 1
        self.broken = True


class Turns:
    """The ring of endpoints: each `next()` takes one delivery from the next endpoint that may
    start one; an endpoint at its in-flight limit rejoins the ring's end when one ends."""

    def __init__(self, turns: Iterable[EndpointTurn]) -> None:
        self.all = list(turns)
        self._ring: deque[EndpointTurn] = deque(self.all)
        self._queued = {id(turn) for turn in self.all}

    def next(self) -> tuple[EndpointTurn, Delivery] | None:
        while self._ring:
            turn = self._ring.popleft()
            self._queued.discard(id(turn))
            if not turn.can_start:
                continue  # back() brings it again when one of its attempts ends
            delivery = turn.take()
            if delivery is None:
                continue
            self.back(turn)
            return turn, delivery
        return None

    def back(self, turn: EndpointTurn) -> None:
        if turn.can_start and id(turn) not in self._queued:
            self._ring.append(turn)
            self._queued.add(id(turn))
