"""Merchants, their API-key lookups and depots in the main table."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.domain.errors import AlreadyExists, DepotNotFound, DomainError, MerchantNotFound
from chalicelib.domain.tenancy import Depot, Merchant, Vehicle
from chalicelib.store.dynamo import Transaction, error_code, from_attr, query_all, to_attr


def _merchant_key(merchant_id: str) -> dict[str, str]:
    return {"pk": f"MERCHANT#{merchant_id}", "sk": "PROFILE"}


def _api_key_key(api_key_hash: str) -> dict[str, str]:
    return {"pk": f"APIKEY#{api_key_hash}", "sk": "APIKEY"}


def _stripe_account_key(account_id: str) -> dict[str, str]:
    return {"pk": f"STRIPEACCT#{account_id}", "sk": "STRIPEACCT"}


def _depot_key(depot_id: str) -> dict[str, str]:
    return {"pk": f"DEPOT#{depot_id}", "sk": "PROFILE"}


class TenancyRepository:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        item = self._client.get_item(
            TableName=self._table, Key=to_attr(key), ConsistentRead=True
        ).get("Item")
        return from_attr(item) if item else None

    def create_merchant(self, merchant: Merchant, api_key_hash: str) -> None:
        """The merchant, its key lookup and its Stripe account claim, all or nothing."""
        tx = Transaction()
        tx.put(
            self._table,
            {
                **_merchant_key(merchant.merchant_id),
                "entity": "merchant",
                **asdict(merchant),
                # Every merchant under one index key, for jobs that visit them all.
                "gsi1pk": "MERCHANTS",
                "gsi1sk": merchant.merchant_id,
            },
            condition="attribute_not_exists(pk)",
            on_fail=AlreadyExists(f"merchant {merchant.merchant_id} exists"),
        )
        tx.put(
            self._table,
            {**_api_key_key(api_key_hash), "merchant_id": merchant.merchant_id},
            condition="attribute_not_exists(pk)",
            on_fail=AlreadyExists("api key collision"),
        )
        if merchant.stripe_account_id:
            tx.put(
                self._table,
                {
                    **_stripe_account_key(merchant.stripe_account_id),
                    "merchant_id": merchant.merchant_id,
                },
                condition="attribute_not_exists(pk)",
                on_fail=AlreadyExists(
                    f"Stripe account {merchant.stripe_account_id} belongs to another merchant",
                    field="stripe_account_id",
                ),
            )
        tx.commit(self._client)

    def get_merchant(self, merchant_id: str) -> Merchant | None:
        item = self._get(_merchant_key(merchant_id))
        return _merchant(item) if item else None

    def list_merchants(self) -> list[Merchant]:
        items = query_all(
            self._client,
            TableName=self._table,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :pk",
            ExpressionAttributeValues=to_attr({":pk": "MERCHANTS"}),
        )
        return [_merchant(item) for item in items]

    def merchant_for_api_key(self, api_key_hash: str) -> Merchant | None:
        ref = self._get(_api_key_key(api_key_hash))
        return self.get_merchant(ref["merchant_id"]) if ref else None

    def merchant_for_stripe_account(self, account_id: str) -> Merchant | None:
        ref = self._get(_stripe_account_key(account_id))
        return self.get_merchant(ref["merchant_id"]) if ref else None

    def create_depot(self, depot: Depot) -> None:
        tx = Transaction()
        tx.put(
            self._table,
            {**_depot_key(depot.depot_id), "entity": "depot", **asdict(depot)},
            condition="attribute_not_exists(pk)",
            on_fail=AlreadyExists(f"depot {depot.depot_id} exists", field="depot_id"),
        )
        tx.commit(self._client)

    def put_fleet(self, depot_id: str, vehicles: list[Vehicle], at: str) -> None:
        """Replace the depot's fleet as one item (read whole by every dispatch run)."""
        tx = Transaction()
        tx.check(
            self._table,
            _depot_key(depot_id),
            condition="attribute_exists(pk)",
            on_fail=DepotNotFound(f"no depot {depot_id}"),
        )
        tx.put(
            self._table,
            {
                "pk": f"DEPOT#{depot_id}",
                "sk": "FLEET",
                "entity": "fleet",
                "updated_at": at,
                "vehicles": [asdict(v) for v in vehicles],
            },
        )
        tx.commit(self._client)

    def get_fleet(self, depot_id: str) -> list[Vehicle]:
        item = self._get({"pk": f"DEPOT#{depot_id}", "sk": "FLEET"})
        if not item:
            return []
        return [Vehicle(**{**v, "skills": tuple(v.get("skills") or ())}) for v in item["vehicles"]]

    def _update_existing(
        self, key: dict[str, str], expression: str, values: dict[str, Any], missing: DomainError
    ) -> dict[str, Any]:
        """Update an item that must exist (`missing` is raised if not); the item after."""
        try:
            item = self._client.update_item(
                TableName=self._table,
                Key=to_attr(key),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=to_attr(values),
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise missing from exc
            raise
        return from_attr(item)

    def set_notifications_off(self, merchant_id: str, off: list[str]) -> Merchant:
        item = self._update_existing(
            _merchant_key(merchant_id),
            "SET notifications_off = :off",
            {":off": off},
            MerchantNotFound(f"no merchant {merchant_id}"),
        )
        return _merchant(item)

    def set_dispatch_policy(self, depot_id: str, policy: dict[str, Any]) -> Depot:
        item = self._update_existing(
            _depot_key(depot_id),
            "SET dispatch = :policy",
            {":policy": policy},
            DepotNotFound(f"no depot {depot_id}"),
        )
        return _depot(item)

    def get_depot(self, depot_id: str) -> Depot | None:
        item = self._get(_depot_key(depot_id))
        return _depot(item) if item else None


def _depot(item: dict[str, Any]) -> Depot:
    return Depot(**{k: item[k] for k in Depot.__dataclass_fields__ if k in item})


def _merchant(item: dict[str, Any]) -> Merchant:
    fields = {k: item[k] for k in Merchant.__dataclass_fields__ if k in item}
    fields["notifications_off"] = tuple(item.get("notifications_off") or ())
    return Merchant(**fields)
