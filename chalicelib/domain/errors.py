"""Errors with meaning. The API maps each family to a status; Step Functions match by name."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error this project raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationFailed(DomainError):
    code = "validation_failed"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"


class AuthenticationFailed(DomainError):
    code = "unauthorized"


class SignatureInvalid(AuthenticationFailed):
    code = "invalid_signature"


class TokenExpired(AuthenticationFailed):
    """A credential that was good once and is no longer (a driver token past its route's day)."""

    code = "token_expired"


class Forbidden(DomainError):
    """The caller is known but this may not be done (a pickup code that opens nothing)."""

    code = "forbidden"


class NotFound(DomainError):
    code = "not_found"


class OrderNotFound(NotFound):
    code = "order_not_found"


class MerchantNotFound(NotFound):
    code = "merchant_not_found"


class DepotNotFound(NotFound):
    code = "depot_not_found"


class LockerNotFound(NotFound):
    code = "locker_not_found"


class ProofNotFound(NotFound):
    """An order with no proof of delivery (not delivered, or delivered before proofs)."""

    code = "proof_not_found"


class DispatchRunNotFound(NotFound):
    code = "dispatch_run_not_found"


class RouteNotFound(NotFound):
    code = "route_not_found"


class Conflict(DomainError):
    code = "conflict"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class NotOnRoute(Conflict):
    """A driver's event for an order whose current route is another (re-planned, released)."""

    code = "not_on_route"


class StopNotPending(Conflict):
    """A driver's event for a stop already served, cancelled or dropped from the route."""

    code = "stop_not_pending"


class WrongParcel(Conflict):
    """A scanned parcel label that is not one of this route's (at the depot) or of this order's
    (at the door): nothing is recorded."""

    code = "wrong_parcel"


class NoLabels(Conflict):
    """Labels asked for where no parcel is left to label (a run whose orders all left it)."""

    code = "no_labels"


class AlreadyExists(Conflict):
    code = "already_exists"


class ConcurrentUpdate(Conflict):
    """Another writer changed the object between our read and our conditional write."""

    code = "concurrent_update"


class TooManyAttempts(DomainError):
    code = "too_many_attempts"
    retry_after: int | None = None  # seconds; answered as the Retry-After header


class ServiceBusy(DomainError):
    """AWS refused a call for its rate after the SDK's own retries (a throttled table): nothing
    was done, and the same request shortly after will do."""

    code = "service_busy"
    retry_after = 1  # seconds; answered as the Retry-After header


class UpstreamFailed(DomainError):
    """A function of ours that a request relies on failed or answered what it should not (the
    label renderer): nothing was done, and the request may be tried again."""

    code = "upstream_failed"


class OptionExpired(Conflict):
    """A delivery option that is unknown, expired, redeemed already, or another merchant's."""

    code = "option_expired"


class DuplicateEvent(Conflict):
    """This storefront event was processed before; the caller answers as if it were new."""

    code = "duplicate_event"


class MalformedBody(ValidationFailed):
    """The body is not even well-formed (not JSON): 400, where a bad field is 422."""

    code = "malformed_body"


class DepotBusy(Conflict):
    """Another dispatch run holds the depot (one active run per depot)."""

    code = "depot_busy"


class LockerFull(Conflict):
    """No free compartment of the locker fits the parcel(s); the message names the nearest other
    locker with room, when there is one."""

    code = "locker_full"


class StockShort(Conflict):
    """A depot no longer holds enough of a SKU (a concurrent order took it): allocate again."""

    code = "out_of_stock"


class CapacityFull(Conflict):
    """A depot's day is full (a concurrent order took the last place): allocate again."""

    code = "over_capacity"


class InvalidCursor(MalformedBody):
    """A list's `cursor` that is not one this list handed out (edited, forged, another's)."""

    code = "invalid_cursor"
