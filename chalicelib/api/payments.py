"""Delivery options and payments (contract section of that name): the operator's billing of a
merchant, the merchant's usage of the month."""

from __future__ import annotations

from typing import Annotated, Any

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from chalicelib import bootstrap
from chalicelib.api.http import bearer, json_response, parse_body, route
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.money import Money
from chalicelib.store.billing import MerchantBilling

payments = Blueprint(__name__)

Currency = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{3}$"),
    Field(description="ISO 4217, e.g. EUR"),
]
# Stripe's largest amount is eight digits; a price past it could not be charged anyway.
MAX_AMOUNT = 99_999_999


class MoneyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: int = Field(ge=0, le=MAX_AMOUNT, description="minor units (cents), never a float")
    currency: Currency

    def money(self) -> Money:
        return Money(self.amount, self.currency)


class BillingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stripe_customer_id: str = Field(pattern=r"^cus_[A-Za-z0-9]{1,64}$")
    price_per_parcel: MoneyIn


def _billing_view(billing: MerchantBilling) -> dict[str, Any]:
    return {
        "merchant_id": billing.merchant_id,
        "stripe_customer_id": billing.stripe_customer_id,
        "price_per_parcel": billing.price_per_parcel.view(),
        "updated_at": billing.updated_at,
    }


@route(payments, "/v1/merchants/{merchant_id}/billing", methods=["PUT"])
def put_billing(merchant_id: str) -> Any:
    bootstrap.accounts().authenticate_admin(bearer(payments.current_request))
    body = parse_body(payments.current_request, BillingIn)
    billing = bootstrap.usage_billing().set_billing(
        merchant_id, body.stripe_customer_id, body.price_per_parcel.money()
    )
    return json_response(_billing_view(billing))


@route(payments, "/v1/usage", methods=["GET"])
def get_usage() -> Any:
    merchant = bootstrap.accounts().authenticate_merchant(bearer(payments.current_request))
    month = dict(payments.current_request.query_params or {}).get("month")
    if month is None:
        raise ValidationFailed("month: required, YYYY-MM", field="month")
    usage = bootstrap.usage_billing().usage(merchant.merchant_id, month)
    return json_response(
        {
            "month": month,
            "delivered_parcels": usage.delivered_parcels,
            "amount": usage.amount,
            "currency": usage.currency,
            "reported_to_stripe": usage.reported_to_stripe,
        }
    )
