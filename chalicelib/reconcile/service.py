"""The catch-up run: for each merchant connection, pull the orders changed since its cursor and
feed each through the webhook translators and `OrderService.ingest`, then move the cursor. A
run visits merchants in a rotation, within a budget of merchants and seconds, starting after
the one the last run ended with (a persisted cursor): every merchant is reached in turn, and
none starves behind the others however many there are."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from aws_lambda_powertools import Logger

from chalicelib.domain.errors import DomainError, ValidationFailed
from chalicelib.domain.tenancy import Merchant
from chalicelib.domain.times import storable
from chalicelib.intake import shopify, woocommerce
from chalicelib.orders.service import Ignored, Inbound
from chalicelib.reconcile.ports import Accounts, ClientsFactory, Cursors, Intake, Rotation

logger = Logger(child=True)

# Platform clocks drift and their order indexes are eventually consistent: an order changed just
# before the newest one we saw can appear late. Re-reading a few minutes costs only duplicates.
OVERLAP = timedelta(minutes=5)
# A first run looks back this far (never before the merchant joined lastmile): about as long as
# Shopify keeps retrying a webhook, so nothing it gave up on is lost between connecting and now.
FIRST_LOOKBACK = timedelta(days=2)
REJECTED = "rejected"  # a pulled order the intake path refused (it would have 4xx'd as a webhook)


@dataclass(frozen=True)
class Budget:
    """How much one run may do: merchants visited, and seconds (the function's timeout is 600:
    a run stops starting merchants well before it, so none is cut off halfway)."""

    merchants: int = 100
    seconds: float = 420.0


@dataclass(frozen=True)
class Platform:
    """How one platform's pulled order JSON enters the webhook intake path."""

    name: str
    inbound: Callable[[dict[str, Any]], Inbound | Ignored]
    changed_at: Callable[[dict[str, Any]], datetime | None]


def _shopify_inbound(order: dict[str, Any]) -> Inbound | Ignored:
    topic = "orders/cancelled" if order.get("cancelled_at") else "orders/updated"
    # One id per order version: re-pulling it is a duplicate, and a webhook that carried the
    # same version already makes it stale; either way nothing is written twice.
    event_id = f"reconcile:{order.get('id')}:{order.get('updated_at')}"
    return shopify.translate(topic, event_id, order)


def _changed_at(value: Any, naive_is: tzinfo | None = None) -> datetime | None:
    """A pulled order's change time, or None when it is not one a stored order could hold (the
    order itself is refused by its translator; the cursor then moves by the page's others)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None and naive_is is not None:
            moment = moment.replace(tzinfo=naive_is)
        return storable(moment)
    except ValueError:
        return None


def _shopify_changed_at(order: dict[str, Any]) -> datetime | None:
    return _changed_at(order.get("updated_at"))


def _woocommerce_inbound(order: dict[str, Any]) -> Inbound | Ignored:
    # The translator reads the status, not the topic: "order.updated" covers every version, and
    # its event id (order id @ date_modified_gmt) is the one a webhook of that version carries.
    return woocommerce.translate("order.updated", order)


def _woocommerce_changed_at(order: dict[str, Any]) -> datetime | None:
    return _changed_at(order.get("date_modified_gmt"), naive_is=UTC)  # GMT, written naive


PLATFORMS = (
    Platform("shopify", _shopify_inbound, _shopify_changed_at),
    Platform("woocommerce", _woocommerce_inbound, _woocommerce_changed_at),
)


@dataclass
class MerchantRun:
    """What one merchant's connection to one platform gave in this run."""

    merchant_id: str
    platform: str
    since: str
    pages: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    cursor: str | None = None  # where the cursor moved to, when it moved
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "merchant_id": self.merchant_id,
            "platform": self.platform,
            "since": self.since,
            "pages": self.pages,
            "outcomes": dict(self.outcomes),
            "cursor": self.cursor,
            "error": self.error,
        }


@dataclass
class RunSummary:
    runs: list[MerchantRun] = field(default_factory=list)
    visited: list[str] = field(default_factory=list)  # merchant ids, in the order visited
    merchants: int = 0  # how many there are in all

    @property
    def totals(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for run in self.runs:
            total.update(run.outcomes)
        return total

    @property
    def failed(self) -> list[MerchantRun]:
        return [run for run in self.runs if run.error]

    def as_dict(self) -> dict[str, Any]:
        return {
            "merchants": self.merchants,
            "visited": len(self.visited),
            "connections": len(self.runs),
            "failed": len(self.failed),
            "outcomes": dict(self.totals),
            "runs": [run.as_dict() for run in self.runs],
        }


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ReconcileService:
    def __init__(
        self,
        accounts: Accounts,
        orders: Intake,
        cursors: Cursors,
        clients_factory: ClientsFactory,
        clock: Callable[[], datetime] = _utc_now,
        platforms: tuple[Platform, ...] = PLATFORMS,
        rotation: Rotation | None = None,
        budget: Budget = Budget(),
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._accounts = accounts
        self._orders = orders
        self._cursors = cursors
        self._clients = clients_factory
        self._clock = clock
        self._platforms = platforms
        self._rotation = rotation
        self._budget = budget
        self._timer = timer

    def run(self) -> RunSummary:
        """Catch up the next merchants of the rotation, within the budget; one merchant's
        failure is recorded, not raised."""
        merchants = sorted(self._accounts.merchants(), key=lambda m: m.merchant_id)
        summary = RunSummary(merchants=len(merchants))
        after = self._rotation.after() if self._rotation else None
        start = next((i for i, m in enumerate(merchants) if m.merchant_id > (after or "")), 0)
        turn = merchants[start:] + merchants[:start]
        began = self._timer()
        for merchant in turn[: self._budget.merchants]:
            if self._timer() - began > self._budget.seconds:
                break  # the rest of the turn is where the next run starts
            for platform in self._platforms:
                credentials = self._accounts.connection(merchant.merchant_id, platform.name)
                if credentials is not None:
                    summary.runs.append(self._catch_up(merchant, platform, credentials))
            summary.visited.append(merchant.merchant_id)
            if self._rotation is not None:
                # After each merchant, so a run cut short still hands on where it got to.
                self._rotation.moved_to(merchant.merchant_id)
        logger.info(
            "reconciled",
            extra={
                "merchants": len(merchants),
                "visited": len(summary.visited),
                "connections": len(summary.runs),
                "failed": len(summary.failed),
                "outcomes": dict(summary.totals),
            },
        )
        return summary

    def _since(self, merchant: Merchant, platform: Platform) -> datetime:
        cursor = self._cursors.get(merchant.merchant_id, platform.name)
        if cursor is not None:
            return cursor - OVERLAP
        joined = datetime.fromisoformat(merchant.created_at)
        return max(joined, self._clock() - FIRST_LOOKBACK)

    def _catch_up(
        self, merchant: Merchant, platform: Platform, credentials: dict[str, Any]
    ) -> MerchantRun:
        since = self._since(merchant, platform)
        run = MerchantRun(merchant.merchant_id, platform.name, since.isoformat())
        try:
            client = self._clients(platform.name, credentials)
            for page in client.changed_since(since):
                newest: datetime | None = None
                for order in page:
                    run.outcomes[self._apply(merchant, platform, order)] += 1
                    changed = platform.changed_at(order)
                    if changed is not None and (newest is None or changed > newest):
                        newest = changed
                run.pages += 1
                # Only now is every order up to `newest` applied; a crash before this line
                # re-pulls the page on the next run instead of skipping it.
                if newest is not None and self._cursors.advance(
                    merchant.merchant_id, platform.name, newest
                ):
                    run.cursor = newest.isoformat()
        except DomainError as exc:
            # Platform errors, lost races that outlasted the retries: the cursor stays where
            # the last applied page left it, and the next run starts again from there.
            run.error = f"{exc.code}: {exc.message}"
            logger.warning(
                "catch-up failed for a merchant",
                extra={
                    "merchant_id": merchant.merchant_id,
                    "platform": platform.name,
                    "error": run.error,
                    "pages_applied": run.pages,
                },
            )
        return run

    def _apply(self, merchant: Merchant, platform: Platform, order: dict[str, Any]) -> str:
        """One pulled order through the webhook intake path; the outcome's name."""
        try:
            inbound = platform.inbound(order)
            if isinstance(inbound, Ignored):
                return "ignored"
            return self._orders.ingest(merchant, inbound).outcome.value
        except ValidationFailed as exc:
            # The same order as a webhook would have been refused with a 4xx. Holding the cursor
            # for it would block this merchant's catch-up for good; it is logged for a person.
            logger.warning(
                "pulled order refused",
                extra={
                    "merchant_id": merchant.merchant_id,
                    "platform": platform.name,
                    "external_id": str(order.get("id")),
                    "reason": exc.message,
                },
            )
            return REJECTED
