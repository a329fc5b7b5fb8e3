"""The adapter around the `stripe` SDK's client: Billing meter events for delivered parcels and
Checkout sessions for paid customer actions. Stripe's errors come out as ours."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.domain.errors import ServiceBusy
from chalicelib.domain.money import Money


class StripeUnavailable(ServiceBusy):
    """Stripe did not take the call (an outage, throttling, a network fault): try again later.
    The outbox parks a meter event that meets it; a customer's action answers 503."""

    code = "stripe_unavailable"


class StripeRefused(RuntimeError):
    """Stripe refused the call itself (a bad request, a bad key): a fault of ours or of the
    configuration, never the caller's; retrying will not help."""


@dataclass(frozen=True)
class CheckoutSession:
    session_id: str
    url: str
    expires_at: int  # epoch seconds


class StripeApi:
    """Built with a `stripe.StripeClient` (bootstrap points it at Stripe or the local stand-in)."""

    def __init__(self, client: Any, meter_event_name: str) -> None:
        self._client = client
        self._meter_event_name = meter_event_name

    def report_usage(
        self, *, customer_id: str, identifier: str, value: int, timestamp: int
    ) -> None:
        """One meter event. `identifier` (also the idempotency key) makes a retry harmless:
        Stripe keeps one event per identifier, so an identifier it already has is success."""
        import stripe

        params = {
            "event_name": self._meter_event_name,
            "payload": {"stripe_customer_id": customer_id, "value": str(value)},
            "identifier": identifier,
            "timestamp": timestamp,
        }
        try:
            self._client.v1.billing.meter_events.create(
                params=params, options={"idempotency_key": identifier}
            )
        except stripe.InvalidRequestError as exc:
            if exc.code == "duplicate_meter_event":
                return  # reported by an earlier attempt whose answer was lost
            raise StripeRefused(f"Stripe refused the meter event: {exc.user_message}") from exc
        except stripe.StripeError as exc:
            raise StripeUnavailable(f"Stripe: {type(exc).__name__} {exc.http_status}") from exc

    def shipping_rate_metadata(self, rate_id: str, account: str | None) -> dict[str, str] | None:
        """A shipping rate's metadata (on the connected account `account`); None when Stripe
        has no such rate."""
        import stripe

        options: dict[str, Any] = {"stripe_account": account} if account else {}
        try:
            rate = self._client.v1.shipping_rates.retrieve(rate_id, options=options)
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                return None
            raise StripeRefused(f"Stripe refused the rate lookup: {exc.user_message}") from exc
        except stripe.StripeError as exc:
            raise StripeUnavailable(f"Stripe: {type(exc).__name__} {exc.http_status}") from exc
        return {str(k): str(v) for k, v in (rate.to_dict().get("metadata") or {}).items()}

    def create_checkout(
        self,
        *,
        name: str,
        price: Money,
        success_url: str,
        cancel_url: str,
        metadata: dict[str, str],
        expires_at: int,
        idempotency_key: str,
    ) -> CheckoutSession:
        """A Checkout session of one line item on the platform's own account."""
        import stripe

        params = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": price.currency.lower(),
                        "unit_amount": price.amount,
                        "product_data": {"name": name},
                    },
                }
            ],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "metadata": metadata,
            "expires_at": expires_at,
        }
        try:
            session = self._client.v1.checkout.sessions.create(
                params=params, options={"idempotency_key": idempotency_key}
            )
        except stripe.InvalidRequestError as exc:
            raise StripeRefused(f"Stripe refused the session: {exc.user_message}") from exc
        except stripe.StripeError as exc:
            raise StripeUnavailable(f"Stripe: {type(exc).__name__} {exc.http_status}") from exc
        return CheckoutSession(str(session.id), str(session.url), int(session.expires_at))
