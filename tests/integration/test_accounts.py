"""Merchants, keys and secrets against moto: hashes stored, secrets rotated, nothing leaked."""

from __future__ import annotations

import json

import pytest

from chalicelib import bootstrap
from chalicelib.accounts.service import NewDepot, NewMerchant
from chalicelib.domain.errors import (
    AlreadyExists,
    AuthenticationFailed,
    MerchantNotFound,
    ValidationFailed,
)
from chalicelib.domain.tenancy import Brand

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture(scope="module")
def depot_id() -> str:
    depot = bootstrap.accounts().create_depot(
        NewDepot(name="Leeds", lat=53.8, lng=-1.55, timezone="Europe/London")
    )
    return depot.depot_id


def test_api_key_is_kept_only_as_a_hash(depot_id: str) -> None:
    accounts = bootstrap.accounts()
    merchant, creds = accounts.create_merchant(NewMerchant(name="Hashes", depot_id=depot_id))
    assert accounts.authenticate_merchant(creds.api_key) == merchant
    dump = json.dumps(
        bootstrap.client("dynamodb").scan(TableName=bootstrap.settings().main_table)["Items"]
    )
    assert creds.api_key not in dump
    assert creds.webhook_secret not in dump
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate_merchant(creds.api_key + "x")


def test_webhook_secrets_live_in_secrets_manager_and_rotate(depot_id: str) -> None:
    accounts = bootstrap.accounts()
    merchant, creds = accounts.create_merchant(
        NewMerchant(name="Rotates", depot_id=depot_id, shopify_secret="shopify-one")
    )
    assert accounts.webhook_secrets(merchant.merchant_id, "shopify") == ["shopify-one"]
    assert accounts.webhook_secrets(merchant.merchant_id, "standard") == [creds.webhook_secret]
    accounts.rotate_secret(merchant.merchant_id, "shopify", "shopify-two")
    assert accounts.webhook_secrets(merchant.merchant_id, "shopify") == [
        "shopify-two",
        "shopify-one",
    ]


def test_unknown_depot_and_time_zone_are_refused(depot_id: str) -> None:
    accounts = bootstrap.accounts()
    with pytest.raises(ValidationFailed, match="depot_id"):
        accounts.create_merchant(NewMerchant(name="Nowhere", depot_id="dep_missing"))
    with pytest.raises(ValidationFailed, match="timezone"):
        accounts.create_depot(NewDepot(name="X", lat=0, lng=0, timezone="Mars/Olympus"))


def test_a_stripe_account_belongs_to_one_merchant_and_a_failed_create_leaves_no_secret(
    depot_id: str,
) -> None:
    accounts = bootstrap.accounts()
    accounts.create_merchant(
        NewMerchant(name="First", depot_id=depot_id, stripe_account_id="acct_shared1")
    )
    before = bootstrap.client("secretsmanager").list_secrets()["SecretList"]
    with pytest.raises(AlreadyExists):
        accounts.create_merchant(
            NewMerchant(name="Second", depot_id=depot_id, stripe_account_id="acct_shared1")
        )
    after = bootstrap.client("secretsmanager").list_secrets()["SecretList"]
    assert len(after) == len(before)


def test_a_brand_is_stored_replaced_whole_and_read_back_with_the_merchant(depot_id: str) -> None:
    accounts = bootstrap.accounts()
    merchant, creds = accounts.create_merchant(NewMerchant(name="Branded", depot_id=depot_id))
    assert merchant.brand == Brand()
    brand = Brand("Branded Goods", "#0b6e4f", "https://help.example.com/")
    assert accounts.set_brand(merchant.merchant_id, brand).brand == brand
    assert accounts.merchant(merchant.merchant_id).brand == brand
    assert accounts.authenticate_merchant(creds.api_key).brand == brand
    # A field left out is cleared, and the rest of the merchant is untouched.
    cleared = accounts.set_brand(merchant.merchant_id, Brand(colour="#112233"))
    assert cleared.brand == Brand(colour="#112233") and cleared.name == "Branded"
    with pytest.raises(MerchantNotFound):
        accounts.set_brand("mer_nobody", brand)  # a conditional update: no item is made
    with pytest.raises(MerchantNotFound):
        accounts.merchant("mer_nobody")
