"""Operator API (admin key): merchants and depots."""

from __future__ import annotations

from typing import Any, Literal

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from chalicelib import bootstrap
from chalicelib.accounts.service import NewDepot, NewMerchant
from chalicelib.api.http import bearer, json_response, parse_body, route

admin = Blueprint(__name__)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class MerchantIn(_In):
    name: str = Field(min_length=1, max_length=200)
    depot_id: str = Field(min_length=1, max_length=64)
    shopify_secret: str | None = Field(default=None, min_length=8, max_length=256)
    woocommerce_secret: str | None = Field(default=None, min_length=8, max_length=256)
    stripe_account_id: str | None = Field(default=None, pattern=r"^acct_[A-Za-z0-9]+$")


class SecretRotationIn(_In):
    platform: Literal["shopify", "woocommerce"]
    secret: str = Field(min_length=8, max_length=256)


class DepotIn(_In):
    depot_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    name: str = Field(min_length=1, max_length=200)
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)
    timezone: str = Field(min_length=1, max_length=64)
    dispatch: dict[str, Any] = Field(default_factory=dict)


def _authorise() -> None:
    bootstrap.accounts().authenticate_admin(bearer(admin.current_request))


@route(admin, "/v1/merchants", methods=["POST"])
def create_merchant() -> Any:
    _authorise()
    body = parse_body(admin.current_request, MerchantIn)
    merchant, creds = bootstrap.accounts().create_merchant(NewMerchant(**body.model_dump()))
    return json_response(
        {
            "merchant_id": merchant.merchant_id,
            "api_key": creds.api_key,
            "webhook_secret": creds.webhook_secret,
        },
        status=201,
    )


@route(admin, "/v1/merchants/{merchant_id}/webhook-secrets", methods=["POST"])
def rotate_webhook_secret(merchant_id: str) -> Any:
    _authorise()
    body = parse_body(admin.current_request, SecretRotationIn)
    bootstrap.accounts().rotate_secret(merchant_id, body.platform, body.secret)
    return json_response({"merchant_id": merchant_id, "platform": body.platform})


@route(admin, "/v1/depots", methods=["POST"])
def create_depot() -> Any:
    _authorise()
    body = parse_body(admin.current_request, DepotIn)
    depot = bootstrap.accounts().create_depot(NewDepot(**body.model_dump()))
    return json_response({"depot_id": depot.depot_id}, status=201)
