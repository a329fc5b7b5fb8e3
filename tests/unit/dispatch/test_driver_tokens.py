"""Drivers' route tokens: one opens its own route only, and whatever a caller sends is refused
as a 401, never a crash."""

from __future__ import annotations

import pytest

from chalicelib.dispatch.driver_tokens import DriverTokens
from chalicelib.domain.errors import AuthenticationFailed


def test_a_token_opens_its_own_route_only_and_odd_input_is_refused() -> None:
    tokens = DriverTokens(lambda: "route-token-key")
    token = tokens.token("rte_a_000")
    tokens.check("rte_a_000", token)
    for wrong in (tokens.token("rte_a_001"), token + "x", "drv_é", "", None):
        with pytest.raises(AuthenticationFailed):
            tokens.check("rte_a_000", wrong)
