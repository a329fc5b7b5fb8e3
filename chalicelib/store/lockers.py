"""Lockers in the main table, one partition each: the profile (with running figures), one item
per compartment (so a reservation or a deposit is a conditional write on exactly the doors it
takes), one item per parcel held (its pickup code's salt and hash), and the kiosk's lockout."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.domain.errors import AlreadyExists, ConcurrentUpdate, DomainError
from chalicelib.domain.lockers import (
    Compartment,
    CompartmentState,
    Locker,
    LockerAddress,
    LockerFigures,
    LockerParcel,
    OpeningHours,
    ParcelState,
)
from chalicelib.store.dynamo import Transaction, error_code, from_attr, query_all, to_attr

C, P = CompartmentState, ParcelState
KEEP_FINISHED_DAYS = 30  # a collected or retrieved parcel's item stays this long (figures, audit)


class CompartmentTaken(DomainError):
    """A door this write counted on was taken by another write first."""


class ParcelChanged(DomainError):
    """The parcel is no longer in the state this write expected (collected, expired, rotated)."""


def locker_pk(locker_id: str) -> str:
    return f"LOCKER#{locker_id}"


def _profile_key(locker_id: str) -> dict[str, str]:
    return {"pk": locker_pk(locker_id), "sk": "PROFILE"}


def compartment_key(locker_id: str, compartment_id: str) -> dict[str, str]:
    return {"pk": locker_pk(locker_id), "sk": f"COMP#{compartment_id}"}


def parcel_key(locker_id: str, order_id: str) -> dict[str, str]:
    return {"pk": locker_pk(locker_id), "sk": f"PARCEL#{order_id}"}


def _lockout_key(locker_id: str) -> dict[str, str]:
    return {"pk": locker_pk(locker_id), "sk": "LOCKOUT"}


def _retrieval_index(depot_id: str, state: ParcelState) -> str:
    return f"DEPOT#{depot_id}#locker_{state}"


def _epoch_in(days: int) -> int:
    return int((datetime.now(UTC) + timedelta(days=days)).timestamp())


def _locker(item: dict[str, Any]) -> Locker:
    address = item.get("address")
    return Locker(
        locker_id=item["locker_id"],
        name=item["name"],
        lat=float(item["lat"]),
        lng=float(item["lng"]),
        depot_id=item["depot_id"],
        created_at=item["created_at"],
        address=LockerAddress(**address) if address else None,
        opening_hours=tuple(
            OpeningHours(tuple(h["days"]), h["open"], h["close"]) for h in item["opening_hours"]
        ),
        holding_hours=int(item["holding_hours"]),
    )


def _compartment(item: dict[str, Any]) -> Compartment:
    return Compartment(
        compartment_id=item["compartment_id"],
        size=item["size"],
        state=CompartmentState(item["state"]),
        order_id=item.get("order_id"),
        reserved_until=item.get("reserved_until"),
    )


def parcel_from_item(item: dict[str, Any]) -> LockerParcel:
    fields = {k: item[k] for k in LockerParcel.__dataclass_fields__ if k in item}
    fields["compartment_ids"] = tuple(item["compartment_ids"])
    fields["state"] = ParcelState(item["state"])
    return LockerParcel(**fields)


def parcel_to_item(parcel: LockerParcel) -> dict[str, Any]:
    item: dict[str, Any] = {
        **parcel_key(parcel.locker_id, parcel.order_id),
        "entity": "locker_parcel",
        **asdict(parcel),
        "state": str(parcel.state),
    }
    if parcel.state in (P.EXPIRED, P.RETRIEVAL_PLANNED):
        # Where the next dispatch runs of the depot find the parcels to take back (a planned
        # one is taken again once its run's claim has lapsed).
        item["gsi2pk"] = _retrieval_index(parcel.depot_id, P.EXPIRED)
        item["gsi2sk"] = f"{parcel.pickup_by}#{parcel.order_id}"
    if parcel.state in (P.COLLECTED, P.RETRIEVED):
        item["expires_at"] = _epoch_in(KEEP_FINISHED_DAYS)
    return item


class LockerRepository:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    @property
    def table(self) -> str:
        return self._table

    # -- lockers ---------------------------------------------------------------------------

    def create(self, locker: Locker, kiosk_key_hash: str, compartments: list[Compartment]) -> None:
        """The locker and all its compartments, all or nothing."""
        tx = Transaction()
        tx.put(
            self._table,
            {
                **_profile_key(locker.locker_id),
                "entity": "locker",
                **asdict(locker),
                "kiosk_key_hash": kiosk_key_hash,
                # Every locker under one index key (there are hundreds, not millions), by depot.
                "gsi1pk": "LOCKERS",
                "gsi1sk": f"{locker.depot_id}#{locker.locker_id}",
            },
            condition="attribute_not_exists(pk)",
            on_fail=AlreadyExists(f"locker {locker.locker_id} exists", field="locker_id"),
        )
        for c in compartments:
            tx.put(
                self._table,
                {
                    **compartment_key(locker.locker_id, c.compartment_id),
                    "entity": "compartment",
                    "compartment_id": c.compartment_id,
                    "size": c.size,
                    "state": str(C.FREE),
                },
            )
        tx.commit(self._client)

    def get(self, locker_id: str) -> tuple[Locker, str, LockerFigures] | None:
        """The locker, its kiosk key's hash and its figures."""
        item = self._get(_profile_key(locker_id))
        if not item:
            return None
        figures = LockerFigures(
            **{k: int(item.get(k, 0)) for k in LockerFigures.__dataclass_fields__}
        )
        return _locker(item), str(item["kiosk_key_hash"]), figures

    def for_depot(self, depot_id: str | None) -> list[Locker]:
        """The depot's lockers (None: every locker)."""
        condition, values = "gsi1pk = :pk", {":pk": "LOCKERS"}
        if depot_id is not None:
            condition += " AND begins_with(gsi1sk, :depot)"
            values[":depot"] = f"{depot_id}#"
        items = query_all(
            self._client,
            TableName=self._table,
            IndexName="gsi1",
            KeyConditionExpression=condition,
            ExpressionAttributeValues=to_attr(values),
        )
        return [_locker(item) for item in items]

    def compartments(self, locker_id: str) -> list[Compartment]:
        return [_compartment(i) for i in self._query(locker_id, "COMP#")]

    def parcels(self, locker_id: str, state: ParcelState | None = None) -> list[LockerParcel]:
        found = [parcel_from_item(i) for i in self._query(locker_id, "PARCEL#")]
        return [p for p in found if state is None or p.state is state]

    def parcel(self, locker_id: str, order_id: str) -> LockerParcel | None:
        item = self._get(parcel_key(locker_id, order_id))
        return parcel_from_item(item) if item else None

    def _query(self, locker_id: str, prefix: str) -> list[dict[str, Any]]:
        return list(
            query_all(
                self._client,
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues=to_attr({":pk": locker_pk(locker_id), ":prefix": prefix}),
                ConsistentRead=True,
            )
        )

    # -- writes that go into another object's transaction ----------------------------------

    def _doors(
        self,
        tx: Transaction,
        locker_id: str,
        compartment_ids: list[str] | tuple[str, ...],
        expression: str,
        condition: str,
        values: dict[str, Any],
        on_fail: Callable[[str], DomainError],
    ) -> None:
        """One conditional update per door, all in `tx`."""
        for cid in compartment_ids:
            tx.update(
                self._table,
                compartment_key(locker_id, cid),
                expression=expression,
                condition=condition,
                names={"#state": "state"},
                values=values,
                on_fail=on_fail(cid),
            )

    def _take(
        self,
        tx: Transaction,
        locker_id: str,
        compartment_ids: list[str],
        order_id: str,
        now: int,
        expression: str,
        values: dict[str, Any],
    ) -> None:
        """Doors taken for an order: free ones, its own reservations, or lapsed ones."""
        self._doors(
            tx,
            locker_id,
            compartment_ids,
            expression,
            "#state = :free OR (#state = :reserved AND "
            "(reserved_until < :now OR order_id = :order))",
            {
                ":free": str(C.FREE),
                ":reserved": str(C.RESERVED),
                ":order": order_id,
                ":now": now,
                **values,
            },
            lambda cid: CompartmentTaken(f"compartment {cid} of {locker_id} was taken"),
        )

    def reserve(
        self,
        tx: Transaction,
        locker_id: str,
        compartment_ids: list[str],
        order_id: str,
        route_id: str,
        until: int,
        now: int,
    ) -> None:
        """Hold doors for a planned order's parcels until `until` (its route's ETA + grace)."""
        self._take(
            tx,
            locker_id,
            compartment_ids,
            order_id,
            now,
            "SET #state = :reserved, order_id = :order, route_id = :route, reserved_until = :until",
            {":route": route_id, ":until": until},
        )

    def occupy(
        self, tx: Transaction, locker_id: str, compartment_ids: list[str], order_id: str, now: int
    ) -> None:
        """Doors a parcel is put behind."""
        self._take(
            tx,
            locker_id,
            compartment_ids,
            order_id,
            now,
            "SET #state = :occupied, order_id = :order REMOVE reserved_until, route_id",
            {":occupied": str(C.OCCUPIED)},
        )

    def vacate(
        self, tx: Transaction, locker_id: str, compartment_ids: tuple[str, ...], order_id: str
    ) -> None:
        self._doors(
            tx,
            locker_id,
            compartment_ids,
            "SET #state = :free REMOVE order_id, reserved_until, route_id",
            "order_id = :order",
            {":free": str(C.FREE), ":order": order_id},
            lambda cid: ParcelChanged(f"compartment {cid} no longer holds {order_id}"),
        )

    def flag_for_retrieval(
        self, tx: Transaction, locker_id: str, compartment_ids: tuple[str, ...], order_id: str
    ) -> None:
        self._doors(
            tx,
            locker_id,
            compartment_ids,
            "SET #state = :flagged",
            "order_id = :order AND #state = :occupied",
            {
                ":flagged": str(C.AWAITING_RETRIEVAL),
                ":order": order_id,
                ":occupied": str(C.OCCUPIED),
            },
            lambda cid: ParcelChanged(f"compartment {cid} no longer holds {order_id}"),
        )

    def put_parcel(
        self,
        tx: Transaction,
        parcel: LockerParcel,
        *,
        expect: tuple[ParcelState, ...] = (),
        expect_hash: str | None = None,
        expect_pickup_by: str | None = None,
    ) -> None:
        """Write the parcel whole; `expect` the states it may be in now (none: it must be new),
        `expect_hash` the code it must still have, `expect_pickup_by` its deadline."""
        values: dict[str, Any] = {}
        if expect:
            states = [f":s{n}" for n in range(len(expect))]
            condition = f"#state IN ({', '.join(states)})"
            values |= {name: str(s) for name, s in zip(states, expect, strict=True)}
            if expect_hash is not None:
                condition += " AND code_hash = :hash"
                values[":hash"] = expect_hash
            if expect_pickup_by is not None:
                condition += " AND pickup_by = :by"
                values[":by"] = expect_pickup_by
        else:
            condition = "attribute_not_exists(pk)"
        tx.put(
            self._table,
            parcel_to_item(parcel),
            condition=condition,
            names={"#state": "state"} if expect else None,
            values=values or None,
            on_fail=ParcelChanged(f"the parcel of {parcel.order_id} changed meanwhile"),
        )

    def count(self, tx: Transaction, locker_id: str, **added: int) -> None:
        """Add to the locker's running figures (deposits, pickups, expiries, dwell_s_total)."""
        names = {f"#{k}": k for k in added}
        tx.update(
            self._table,
            _profile_key(locker_id),
            expression="ADD " + ", ".join(f"#{k} :{k}" for k in added),
            names=names,
            values={f":{k}": v for k, v in added.items()},
        )

    # -- reservations ----------------------------------------------------------------------

    def release_reservations(
        self, locker_id: str, order_id: str, route_prefix: str | None = None
    ) -> int:
        """Give back the doors held for an order that will not come (cancelled, its run failed:
        then only those its routes, `route_prefix`, held)."""
        released = 0
        for c in self.compartments(locker_id):
            if c.order_id != order_id or c.state is not C.RESERVED:
                continue
            condition = "#state = :reserved AND order_id = :order"
            values = {":free": str(C.FREE), ":reserved": str(C.RESERVED), ":order": order_id}
            if route_prefix is not None:
                condition += " AND begins_with(route_id, :prefix)"
                values[":prefix"] = route_prefix
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=to_attr(compartment_key(locker_id, c.compartment_id)),
                    UpdateExpression="SET #state = :free REMOVE order_id, reserved_until, route_id",
                    ConditionExpression=condition,
                    ExpressionAttributeNames={"#state": "state"},
                    ExpressionAttributeValues=to_attr(values),
                )
                released += 1
            except ClientError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise
        return released

    # -- retrievals (expired parcels a dispatch run plans a driver to take back) -------------

    def awaiting_retrieval(self, depot_id: str) -> list[LockerParcel]:
        items = query_all(
            self._client,
            TableName=self._table,
            IndexName="gsi2",
            KeyConditionExpression="gsi2pk = :pk",
            ExpressionAttributeValues=to_attr({":pk": _retrieval_index(depot_id, P.EXPIRED)}),
        )
        return [parcel_from_item(i) for i in items]

    def claim_retrieval(
        self, parcel: LockerParcel, run_id: str, *, now: int, until: int
    ) -> LockerParcel | None:
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=to_attr(parcel_key(parcel.locker_id, parcel.order_id)),
                UpdateExpression="SET claimed_by = :run, claimed_until = :until",
                # A planned retrieval whose route never came (its lease over) is taken again.
                ConditionExpression=(
                    "#state IN (:expired, :planned) AND (attribute_not_exists(claimed_by) OR "
                    "claimed_until < :now OR claimed_by = :run)"
                ),
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=to_attr(
                    {
                        ":run": run_id,
                        ":until": until,
                        ":now": now,
                        ":expired": str(P.EXPIRED),
                        ":planned": str(P.RETRIEVAL_PLANNED),
                    }
                ),
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            return None
        return parcel_from_item(from_attr(answer["Attributes"]))

    def plan_retrieval(
        self, locker_id: str, order_id: str, run_id: str, route_id: str, until: int
    ) -> str:
        """ "planned" (a retried commit plans it again, the same) or "changed". The run's claim
        holds until `until` (the stop's ETA and a grace): a route that never comes leaves the
        parcel, still in the index, for the next runs to claim and plan again."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_attr(parcel_key(locker_id, order_id)),
                UpdateExpression="SET #state = :planned, route_id = :route, claimed_until = :until",
                ConditionExpression="claimed_by = :run AND #state IN (:expired, :planned)",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=to_attr(
                    {
                        ":planned": str(P.RETRIEVAL_PLANNED),
                        ":expired": str(P.EXPIRED),
                        ":run": run_id,
                        ":route": route_id,
                        ":until": until,
                    }
                ),
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            return "changed"  # retrieved, or taken by a later run
        return "planned"

    def unclaim_retrieval(self, parcel: LockerParcel, run_id: str) -> str:
        """Undo what `run_id` did to a retrieval (left out, or its run failed)."""
        locker_id, order_id = parcel.locker_id, parcel.order_id
        for state in (P.EXPIRED, P.RETRIEVAL_PLANNED):
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=to_attr(parcel_key(locker_id, order_id)),
                    UpdateExpression=(
                        "SET #state = :expired, gsi2pk = :index, gsi2sk = :sort "
                        "REMOVE claimed_by, claimed_until, route_id"
                    ),
                    ConditionExpression="claimed_by = :run AND #state = :state",
                    ExpressionAttributeNames={"#state": "state"},
                    ExpressionAttributeValues=to_attr(
                        {
                            ":expired": str(P.EXPIRED),
                            ":state": str(state),
                            ":run": run_id,
                            ":index": _retrieval_index(parcel.depot_id, P.EXPIRED),
                            ":sort": f"{parcel.pickup_by}#{order_id}",
                        }
                    ),
                )
                return "released"
            except ClientError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise
        return "untouched"

    # -- the kiosk's lockout ---------------------------------------------------------------

    def locked_until(self, locker_id: str) -> int:
        item = self._get(_lockout_key(locker_id)) or {}
        return int(item.get("locked_until", 0))

    def record_failure(
        self, locker_id: str, now: int, window_s: int, limit: int, lock_s: int
    ) -> int | None:
        """Count a failed pickup at the locker; the epoch it is locked until when this failure
        locks it (the limit reached within the window), else None."""
        for _ in range(5):
            item = self._get(_lockout_key(locker_id)) or {}
            version = int(item.get("version", 0))
            recent = [int(t) for t in item.get("failures", []) if int(t) > now - window_s]
            recent.append(now)
            locks = len(recent) >= limit
            fields = {
                **_lockout_key(locker_id),
                "failures": [] if locks else recent,
                "locked_until": now + lock_s if locks else int(item.get("locked_until", 0)),
                "version": version + 1,
                "expires_at": now + window_s + lock_s + 86_400,
            }
            try:
                self._client.put_item(
                    TableName=self._table,
                    Item=to_attr(fields),
                    ConditionExpression="attribute_not_exists(version) OR version = :v",
                    ExpressionAttributeValues=to_attr({":v": version}),
                )
            except ClientError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise
                continue  # another failure was counted meanwhile: count on top of it
            return now + lock_s if locks else None
        raise ConcurrentUpdate(f"locker {locker_id}'s lockout keeps changing")

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        item = self._client.get_item(
            TableName=self._table, Key=to_attr(key), ConsistentRead=True
        ).get("Item")
        return from_attr(item) if item else None
