"""Dispatch in the main table: the depot's one-run lock, runs with their routes and left-out
orders, order claims, and the per-order commit and release writes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.domain.dispatch import PlannedRoute, RouteStop, Run, RunStatus, run_id_of_route
from chalicelib.domain.errors import ConcurrentUpdate, DepotBusy, DomainError
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import TimelineEvent, utc_now
from chalicelib.store.dynamo import Transaction, error_code, from_attr, query_all, to_attr
from chalicelib.store.legacy_items import event_item, order_key, outbox_item

UNASSIGNED_PER_ITEM = 400  # left-out orders per item (an item holds at most 400 KB)

PLANNED, READY = str(OrderStatus.PLANNED), str(OrderStatus.READY)
OUT = str(OrderStatus.OUT_FOR_DELIVERY)


class _Changed(DomainError):
    """The order is no longer what this run claimed (amended, cancelled, released)."""


def _lock_key(depot_id: str) -> dict[str, str]:
    return {"pk": f"DEPOT#{depot_id}", "sk": "DISPATCH"}


def _run_key(run_id: str) -> dict[str, str]:
    return {"pk": f"RUN#{run_id}", "sk": "RUN"}


def _route_key(run_id: str, route_id: str) -> dict[str, str]:
    return {"pk": f"RUN#{run_id}", "sk": f"ROUTE#{route_id}"}


def _route(item: dict[str, Any]) -> PlannedRoute:
    fields = {k: item[k] for k in PlannedRoute.__dataclass_fields__ if k in item}
    fields["stops"] = tuple(RouteStop(**s) for s in item["stops"])
    return PlannedRoute(**fields)


def _run(item: dict[str, Any]) -> Run:
    fields = {k: item[k] for k in Run.__dataclass_fields__ if k in item}
    return Run(**{**fields, "status": RunStatus(item["status"])})


class DispatchRepository:
    def __init__(self, client: Any, table: str, outbox_table: str) -> None:
        self._client = client
        self._table = table
        self._outbox = outbox_table

    # -- the run and the depot's lock ------------------------------------------------------

    def begin(self, run: Run, *, now: int, lease_until: int) -> str | None:
        """Record `run` and make it the depot's active run, unless another run holds the depot
        (its lease not yet expired): then nothing is written. Returns the run holding the depot
        after the call (`run`'s own id when it started), or None when the holder finished
        between our write and our read (nothing written: try again)."""
        tx = Transaction()
        tx.update(
            self._table,
            _lock_key(run.depot_id),
            expression="SET active_run_id = :run, lease_until = :until",
            condition="attribute_not_exists(active_run_id) OR lease_until < :now",
            values={":run": run.run_id, ":until": lease_until, ":now": now},
            on_fail=DepotBusy(f"depot {run.depot_id} has a dispatch run"),
        )
        tx.put(
            self._table,
            {**_run_key(run.run_id), "entity": "dispatch_run", **asdict(run)},
            condition="attribute_not_exists(pk)",
            on_fail=ConcurrentUpdate(f"run id {run.run_id} collision"),
        )
        try:
            tx.commit(self._client)
        except DepotBusy:
            lock = self._get(_lock_key(run.depot_id)) or {}
            return str(lock["active_run_id"]) if lock.get("active_run_id") else None
        return run.run_id

    def end(self, depot_id: str, run_id: str) -> None:
        """Free the depot, if this run still holds it."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_attr(_lock_key(depot_id)),
                UpdateExpression="REMOVE active_run_id, lease_until",
                ConditionExpression="active_run_id = :run",
                ExpressionAttributeValues=to_attr({":run": run_id}),
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise

    def active_run(self, depot_id: str, now: int) -> str | None:
        lock = self._get(_lock_key(depot_id)) or {}
        if lock.get("active_run_id") and int(lock.get("lease_until", 0)) >= now:
            return str(lock["active_run_id"])
        return None

    def settle(
        self,
        run_id: str,
        status: RunStatus,
        at: str,
        *,
        error: str | None = None,
        figures: dict[str, Any] | None = None,
    ) -> bool:
        """Move a running run to its final status; False if it had already settled."""
        values: dict[str, Any] = {":status": str(status), ":at": at, ":running": "running"}
        expression = "SET #status = :status, finished_at = :at"
        if error is not None:
            expression += ", #error = :error"
            values[":error"] = error[:2000]
        if figures is not None:
            expression += ", figures = :figures"
            values[":figures"] = figures
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_attr(_run_key(run_id)),
                UpdateExpression=expression,
                ConditionExpression="#status = :running",
                ExpressionAttributeNames={"#status": "status", "#error": "error"}
                if error is not None
                else {"#status": "status"},
                ExpressionAttributeValues=to_attr(values),
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def record_figures(self, run_id: str, figures: dict[str, Any]) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=to_attr(_run_key(run_id)),
            UpdateExpression="SET figures = :figures",
            ExpressionAttributeValues=to_attr({":figures": figures}),
        )

    def get_run(self, run_id: str) -> Run | None:
        item = self._get(_run_key(run_id))
        return _run(item) if item else None

    def run_with_results(
        self, run_id: str
    ) -> tuple[Run, list[PlannedRoute], list[dict[str, str]]] | None:
        run: Run | None = None
        routes: list[PlannedRoute] = []
        unassigned: list[dict[str, str]] = []
        for item in query_all(
            self._client,
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=to_attr({":pk": f"RUN#{run_id}"}),
            ConsistentRead=True,
        ):
            if item["sk"] == "RUN":
                run = _run(item)
            elif item["sk"].startswith("ROUTE#"):
                routes.append(_route(item))
            elif item["sk"].startswith("UNASSIGNED#"):
                unassigned += item["orders"]
        return (run, routes, unassigned) if run else None

    # -- claims ----------------------------------------------------------------------------

    def ready_orders(self, depot_id: str) -> list[dict[str, Any]]:
        """The depot's ready orders as stored (the index lags writes by a moment; every claim
        checks the order itself)."""
        return list(
            query_all(
                self._client,
                TableName=self._table,
                IndexName="gsi2",
                KeyConditionExpression="gsi2pk = :pk",
                ExpressionAttributeValues=to_attr({":pk": f"DEPOT#{depot_id}#{READY}"}),
            )
        )

    def claim(self, order_id: str, run_id: str, *, now: int, until: int) -> dict[str, Any] | None:
        """Take a ready order for `run_id` unless another run's claim on it is still live; the
        order as claimed (read with the write, so never an index's older copy), or None."""
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=to_attr(order_key(order_id)),
                UpdateExpression="SET claimed_by = :run, claimed_until = :until",
                ConditionExpression=(
                    "#status = :ready AND "
                    "(attribute_not_exists(claimed_by) OR claimed_until < :now "
                    "OR claimed_by = :run)"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_attr(
                    {":run": run_id, ":until": until, ":now": now, ":ready": READY}
                ),
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            return None
        return from_attr(answer["Attributes"])

    # -- commit ----------------------------------------------------------------------------

    def plan_order(
        self,
        order: dict[str, Any],
        run_id: str,
        route_id: str,
        eta: str,
        at: str,
        also: Callable[[Transaction], None] | None = None,
    ) -> str:
        """Move one claimed order to planned on `route_id`, with its timeline event and the
        outbox message (and what `also` adds: its locker doors), in one transaction.
        "planned"; "already" when a retried commit finds it done; "changed" when the order
        changed since the claim (left alone)."""
        order_id, depot_id = order["order_id"], order["depot_id"]
        tx = Transaction()
        if also is not None:
            also(tx)
        tx.update(
            self._table,
            order_key(order_id),
            expression=(
                "SET #status = :planned, gsi2pk = :index, route_id = :route, run_id = :run, "
                "eta = :eta, updated_at = :at, version = version + :one "
                "REMOVE claimed_by, claimed_until, unassigned_reason"
            ),
            condition="claimed_by = :run AND #status = :ready",
            names={"#status": "status"},
            values={
                ":planned": PLANNED,
                ":ready": READY,
                ":index": f"DEPOT#{depot_id}#{PLANNED}",
                ":route": route_id,
                ":run": run_id,
                ":eta": eta,
                ":at": at,
                ":one": 1,
            },
            on_fail=_Changed(order_id),
        )
        event = TimelineEvent(at=at, status=OrderStatus.PLANNED, type="order.planned")
        tx.put(self._table, event_item(order_id, 0, event))
        tx.put(
            self._outbox,
            outbox_item(order_id, order["merchant_id"], PLANNED, "order.planned", at, eta=eta),
        )
        try:
            tx.commit(self._client)
        except _Changed:
            now = self._get(order_key(order_id)) or {}
            done = now.get("status") == PLANNED and now.get("run_id") == run_id
            return "already" if done else "changed"
        return "planned"

    def leave_unassigned(
        self,
        order_id: str,
        run_id: str,
        reason: str,
        announce: tuple[str, dict[str, Any]] | None = None,
    ) -> bool:
        """Give a claimed order back for the next run, with the reason this one left it out;
        `announce` is an outbox message sent with it unless the last run left it out for the
        same reason (the customer hears once)."""
        if announce is not None and self._leave_announcing(order_id, run_id, reason, announce):
            return True
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_attr(order_key(order_id)),
                UpdateExpression=(
                    "SET unassigned_reason = :reason, run_id = :run "
                    "REMOVE claimed_by, claimed_until"
                ),
                ConditionExpression="claimed_by = :run",
                ExpressionAttributeValues=to_attr({":run": run_id, ":reason": reason}),
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def _leave_announcing(
        self, order_id: str, run_id: str, reason: str, announce: tuple[str, dict[str, Any]]
    ) -> bool:
        order = self._get(order_key(order_id)) or {}
        if order.get("claimed_by") != run_id or order.get("unassigned_reason") == reason:
            return False
        message_type, extra = announce
        at = utc_now()
        tx = Transaction()
        tx.update(
            self._table,
            order_key(order_id),
            expression=(
                "SET unassigned_reason = :reason, run_id = :run REMOVE claimed_by, claimed_until"
            ),
            condition=(
                "claimed_by = :run AND "
                "(attribute_not_exists(unassigned_reason) OR unassigned_reason <> :reason)"
            ),
            values={":run": run_id, ":reason": reason},
            on_fail=_Changed(order_id),
        )
        tx.put(
            self._outbox,
            outbox_item(order_id, order["merchant_id"], order["status"], message_type, at, **extra),
        )
        try:
            tx.commit(self._client)
        except _Changed:
            return False
        return True

    def put_route(self, route: PlannedRoute) -> None:
        """Write a route whole (a retried commit writes the same item again, not a second)."""
        self._client.put_item(
            TableName=self._table,
            Item=to_attr({**_route_key(route.run_id, route.route_id), **asdict(route)}),
        )

    def put_unassigned(self, run_id: str, entries: list[dict[str, str]]) -> None:
        for n, start in enumerate(range(0, len(entries), UNASSIGNED_PER_ITEM)):
            self._client.put_item(
                TableName=self._table,
                Item=to_attr(
                    {
                        "pk": f"RUN#{run_id}",
                        "sk": f"UNASSIGNED#{n:04d}",
                        "orders": entries[start : start + UNASSIGNED_PER_ITEM],
                    }
                ),
            )

    # -- release ---------------------------------------------------------------------------

    def release_order(self, order_id: str, run_id: str, reason: str, at: str) -> str:
        """Undo whatever `run_id` did to one order: a claim is dropped, a planned order goes
        back to ready, both keeping the reason. "released", or "untouched" if the run no
        longer holds it."""
        if self.leave_unassigned(order_id, run_id, reason):
            return "released"
        order = self._get(order_key(order_id))
        if not order or order.get("run_id") != run_id or order.get("status") != PLANNED:
            return "untouched"
        tx = Transaction()
        tx.update(
            self._table,
            order_key(order_id),
            expression=(
                "SET #status = :ready, gsi2pk = :index, unassigned_reason = :reason, "
                "updated_at = :at, version = version + :one REMOVE route_id, eta"
            ),
            condition="run_id = :run AND #status = :planned",
            names={"#status": "status"},
            values={
                ":ready": READY,
                ":planned": PLANNED,
                ":index": f"DEPOT#{order['depot_id']}#{READY}",
                ":reason": reason,
                ":run": run_id,
                ":at": at,
                ":one": 1,
            },
            on_fail=_Changed(order_id),
        )
        event = TimelineEvent(
            at=at, status=OrderStatus.READY, type="order.released", note=reason[:500]
        )
        tx.put(self._table, event_item(order_id, 0, event))
        try:
            tx.commit(self._client)
        except _Changed:
            return "untouched"
        return "released"

    def delete_routes(self, run_id: str) -> None:
        for item in query_all(
            self._client,
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :routes)",
            ExpressionAttributeValues=to_attr({":pk": f"RUN#{run_id}", ":routes": "ROUTE#"}),
            ProjectionExpression="pk, sk",
            ConsistentRead=True,
        ):
            self._client.delete_item(TableName=self._table, Key=to_attr(item))

    # -- routes after commit ---------------------------------------------------------------

    def get_route(self, route_id: str) -> PlannedRoute | None:
        run_id = run_id_of_route(route_id)
        item = self._get(_route_key(run_id, route_id)) if run_id else None
        return _route(item) if item else None

    def replace_route(self, route: PlannedRoute, expected_version: int) -> None:
        tx = Transaction()
        tx.put(
            self._table,
            {**_route_key(route.run_id, route.route_id), **asdict(route)},
            condition="version = :expected",
            values={":expected": expected_version},
            on_fail=ConcurrentUpdate(f"route {route.route_id} changed meanwhile"),
        )
        tx.commit(self._client)

    def set_eta(self, order_id: str, route_id: str, eta: str) -> None:
        """A planned or out-for-delivery order's new ETA (left alone if it is no longer on that
        route, or already delivered)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_attr(order_key(order_id)),
                UpdateExpression="SET eta = :eta",
                ConditionExpression="route_id = :route AND #status IN (:planned, :out)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_attr(
                    {":eta": eta, ":route": route_id, ":planned": PLANNED, ":out": OUT}
                ),
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        item = self._client.get_item(
            TableName=self._table, Key=to_attr(key), ConsistentRead=True
        ).get("Item")
        return from_attr(item) if item else None
