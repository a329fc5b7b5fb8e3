"""Drivers' route tokens: one opens its own route only, until its day is over, and whatever a
caller sends is refused as a 401, never a crash."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.dispatch.driver_tokens import GRACE, MAX_LIFETIME, DriverTokens, expiry_of
from chalicelib.domain.dispatch import PlannedRoute
from chalicelib.domain.errors import AuthenticationFailed, TokenExpired
from chalicelib.domain.times import epoch_s

START = "2026-12-01T07:00:00Z"


def a_route(route_id: str = "rte_a_000", duration_s: float = 8 * 3600) -> PlannedRoute:
    return PlannedRoute(
        route_id, "run_a", "dep", "van-0", "van", START, 51.5, -0.12, 1000.0, duration_s, ()
    )


def test_a_token_opens_its_own_route_only_and_odd_input_is_refused() -> None:
    tokens = DriverTokens(lambda: "route-token-key", clock=lambda: epoch_s(START))
    token = tokens.token_for(a_route())
    tokens.check("rte_a_000", token)
    expires = token.removeprefix("drv_").partition(".")[0]
    forged_expiry = token.replace(expires, str(int(expires) + 86_400), 1)
    for wrong in (
        tokens.token_for(a_route("rte_a_001")),
        token + "x",
        forged_expiry,  # a later expiry with the old MAC: the MAC covers the expiry
        "drv_é",
        "drv_1." + "A" * 43,
        "drv_" + "9" * 40 + ".x",
        "drv_." + token.partition(".")[2],
        "",
        None,
    ):
        with pytest.raises(AuthenticationFailed):
            tokens.check("rte_a_000", wrong)


def test_a_token_expires_with_its_routes_day() -> None:
    route = a_route()
    assert expiry_of(route) == epoch_s(START) + 8 * 3600 + int(GRACE.total_seconds())
    endless = replace(route, duration_s=40 * 3600)
    assert expiry_of(endless) == epoch_s(START) + int(MAX_LIFETIME.total_seconds())

    now = [float(epoch_s(START))]
    tokens = DriverTokens(lambda: "route-token-key", clock=lambda: now[0])
    token = tokens.token_for(route)
    now[0] = expiry_of(route) - 1
    tokens.check(route.route_id, token)
    now[0] = expiry_of(route)
    with pytest.raises(TokenExpired):
        tokens.check(route.route_id, token)
    assert tokens.token_for(route) == token, "the operator is shown the same token again"
