"""Merchants' webhook endpoints: registering (URL rules, a signing secret shown once), listing,
deleting, re-enabling one that was disabled for failing."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.domain.errors import Conflict, NotFound, ValidationFailed
from chalicelib.domain.times import utc_now
from chalicelib.merchant_webhooks.addresses import (
    ResolutionFailed,
    Resolver,
    UnsafeUrl,
    check_addresses,
    is_localhost_name,
    parse_target,
)
from chalicelib.merchant_webhooks.events import EVENT_TYPES
from chalicelib.store.paging import Key, Page

MAX_ENDPOINTS = 10
RESOLVE_TIMEOUT_S = 2.0  # at registration, inside an API request


class EndpointNotFound(NotFound):
    code = "webhook_endpoint_not_found"


class EndpointLimitReached(Conflict):
    code = "webhook_endpoint_limit"


@dataclass(frozen=True)
class Endpoint:
    endpoint_id: str
    merchant_id: str
    url: str
    types: tuple[str, ...]
    created_at: str
    disabled_at: str | None = None
    disabled_reason: str | None = None
    failing_since: str | None = None  # first failed attempt since the last success
    abandoned_in_a_row: int = 0

    @property
    def enabled(self) -> bool:
        return self.disabled_at is None

    def wants(self, event_type: str) -> bool:
        return self.enabled and event_type in self.types

    @property
    def healthy(self) -> bool:
        return self.failing_since is None and self.abandoned_in_a_row == 0

    def view(self) -> dict[str, Any]:
        """How the merchant sees it (never with its secret)."""
        shown: dict[str, Any] = {
            "endpoint_id": self.endpoint_id,
            "url": self.url,
            "types": list(self.types),
            "created_at": self.created_at,
            "enabled": self.enabled,
        }
        if self.disabled_at:
            shown |= {"disabled_at": self.disabled_at, "disabled_reason": self.disabled_reason}
        if self.failing_since:
            shown["failing_since"] = self.failing_since
        return shown


def new_endpoint_id() -> str:
    return f"ep_{secrets.token_hex(10)}"


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def check_url(url: str, *, allow_local_http: bool = False, resolver: Resolver | None = None) -> str:
    """The URL if lastmile may POST to it: https to a public host; plain http only to this
    machine, and only where `allow_local_http` (the local stage). An address in any spelling
    is checked as the resolver reads it; a name is resolved and every address it has now is
    checked (a name that does not resolve yet is taken: each delivery checks again)."""
    try:
        target = parse_target(url, allow_local_http=allow_local_http)
        if target.literal is not None:
            check_addresses(target, [str(target.literal)])
        elif is_localhost_name(target.host):
            check_addresses(target, ["127.0.0.1"])
        elif resolver is not None:
            try:
                addresses = resolver.resolve(target.host, target.port, RESOLVE_TIMEOUT_S)
            except ResolutionFailed:
                addresses = []
            if addresses or target.scheme == "http":
                check_addresses(target, addresses)
        elif target.scheme == "http":
            raise UnsafeUrl("plain http only to this machine (the local stage)")
    except UnsafeUrl as exc:
        raise ValidationFailed(f"url: {exc}", field="url") from exc
    return url


def check_types(types: Iterable[str] | None) -> tuple[str, ...]:
    """The subscribed event types (all when None), in the documented order."""
    if types is None:
        return EVENT_TYPES
    wanted = set(types)
    unknown = sorted(wanted - set(EVENT_TYPES))
    if unknown:
        raise ValidationFailed(
            f"types: unknown {', '.join(unknown)}; known are {', '.join(EVENT_TYPES)}",
            field="types",
        )
    if not wanted:
        raise ValidationFailed("types: subscribe to at least one type", field="types")
    return tuple(t for t in EVENT_TYPES if t in wanted)


class EndpointStore(Protocol):
    def add(self, endpoint: Endpoint, limit: int) -> None: ...

    def list(self, merchant_id: str) -> list[Endpoint]: ...

    def page(self, merchant_id: str, *, limit: int, start: Key | None) -> Page[Endpoint]: ...

    def get(self, merchant_id: str, endpoint_id: str) -> Endpoint | None: ...

    def remove(self, merchant_id: str, endpoint_id: str) -> None: ...

    def enable(self, merchant_id: str, endpoint_id: str) -> Endpoint: ...


class SecretStore(Protocol):
    def create(self, merchant_id: str, endpoint_id: str, secret: str) -> None: ...

    def delete(self, merchant_id: str, endpoint_id: str) -> None: ...


class EndpointService:
    def __init__(
        self,
        store: EndpointStore,
        secrets: SecretStore,
        *,
        allow_local_http: bool = False,
        resolver: Resolver | None = None,
        max_endpoints: int = MAX_ENDPOINTS,
        now: Callable[[], str] = utc_now,
    ) -> None:
        self._store = store
        self._secrets = secrets
        self._allow_local_http = allow_local_http
        self._resolver = resolver
        self._max = max_endpoints
        self._now = now

    def register(
        self, merchant_id: str, url: str, types: Iterable[str] | None = None
    ) -> tuple[Endpoint, str]:
        """A new endpoint and its signing secret (returned this once, kept in Secrets Manager).
        Raises ValidationFailed for a URL or type not allowed, EndpointLimitReached past 10."""
        endpoint = Endpoint(
            endpoint_id=new_endpoint_id(),
            merchant_id=merchant_id,
            url=check_url(url, allow_local_http=self._allow_local_http, resolver=self._resolver),
            types=check_types(types),
            created_at=self._now(),
        )
        if len(self._store.list(merchant_id)) >= self._max:  # early; add() enforces it
            raise EndpointLimitReached(f"a merchant has at most {self._max} webhook endpoints")
        secret = new_secret()
        # The secret first: an endpoint without its secret could not be signed for.
        self._secrets.create(merchant_id, endpoint.endpoint_id, secret)
        try:
            self._store.add(endpoint, self._max)
        except BaseException:
            self._secrets.delete(merchant_id, endpoint.endpoint_id)
            raise
        return endpoint, secret

    def list(self, merchant_id: str) -> list[Endpoint]:
        return self._store.list(merchant_id)

    def page(self, merchant_id: str, *, limit: int, start: Key | None) -> Page[Endpoint]:
        """A page of the merchant's endpoints, by id (no secrets)."""
        return self._store.page(merchant_id, limit=limit, start=start)

    def get(self, merchant_id: str, endpoint_id: str) -> Endpoint:
        endpoint = self._store.get(merchant_id, endpoint_id)
        if endpoint is None:
            raise EndpointNotFound(f"no webhook endpoint {endpoint_id}")
        return endpoint

    def delete(self, merchant_id: str, endpoint_id: str) -> None:
        """Remove the endpoint (EndpointNotFound if it is not this merchant's) and its secret;
        its pending retries are abandoned when they come due."""
        self._store.remove(merchant_id, endpoint_id)
        self._secrets.delete(merchant_id, endpoint_id)

    def enable(self, merchant_id: str, endpoint_id: str) -> Endpoint:
        """Deliver to a disabled endpoint again, its failure record cleared."""
        return self._store.enable(merchant_id, endpoint_id)
