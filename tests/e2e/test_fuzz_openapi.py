"""The API fuzzed from its own OpenAPI document (Schemathesis): every operation, with the
credentials of the audience it names (operator, merchant, kiosk, driver), its documented example
body, then generated valid data on real objects and on generated ids, then invalid data. Any 5xx
fails, and so does any answer whose status, content type or body the document does not describe.

On a local runtime of its own, so that what the fuzzer does (a fleet replaced by a generated one,
the tracking rate limit spent, a locker locked out) reaches no other test. Bounded and seeded:
the same cases on every run (about 2,500 requests), one to two minutes on two shared cores with
the runtime's start. A first failure of each operation and pass is kept, with its curl."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.builders import an_order
from tests.e2e.conftest import ADMIN_KEY, DEPOT_AT, Runtime, started_runtime

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# Cases per operation and pass (after the example): name, mode, on the real objects, how many.
PASSES = (
    ("real ids", GenerationMode.POSITIVE, True, 20),
    ("generated ids", GenerationMode.POSITIVE, False, 6),
    ("invalid data", GenerationMode.NEGATIVE, True, 10),
)

# The local stage's own routes script the vendors' stand-ins and run jobs on demand: tools of
# the tests, never deployed, so not what an attacker reaches.
NOT_FUZZED = ("/local/",)


@dataclass
class Tenant:
    """Real objects of every kind, and the credential of each audience."""

    keys: dict[str, str]
    ids: dict[str, str]
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: Counter[str] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)


def _wait_for_routes(runtime: Runtime, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        run = runtime.admin("GET", f"/v1/dispatch-runs/{run_id}").json()
        if run["status"] != "running":
            assert run["status"] == "succeeded" and run["routes"], run
            return dict(run)
        time.sleep(0.5)
    raise AssertionError(f"dispatch run {run_id} still running")


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[Runtime]:
    with started_runtime(LASTMILE_SEED="none") as runtime:
        yield runtime


@pytest.fixture(scope="module")
def tenant(fuzzed: Runtime) -> Tenant:
    depot_id = fuzzed.depot("Fuzzed depot", vans=1)
    merchant = fuzzed.admin("POST", "/v1/merchants", json={"name": "Fuzz", "depot_id": depot_id})
    assert merchant.status_code == 201, merchant.text
    api_key = merchant.json()["api_key"]
    locker = fuzzed.admin(
        "POST",
        "/v1/lockers",
        json={
            "name": "Fuzzed locker",
            "lat": DEPOT_AT[0],
            "lng": DEPOT_AT[1] + 0.01,
            "depot_id": depot_id,
            "compartments": [{"compartment_id": "A1", "size": "M"}],
        },
    )
    assert locker.status_code == 201, locker.text
    address = an_order()["address"] | {"lat": DEPOT_AT[0] + 0.01, "lng": DEPOT_AT[1]}
    order = fuzzed.merchant(
        api_key, "POST", "/v1/orders", json=an_order(external_id="fuzz-1", address=address)
    )
    assert order.status_code == 201, order.text
    started = fuzzed.admin("POST", f"/v1/depots/{depot_id}/dispatch")
    assert started.status_code == 202, started.text
    run = _wait_for_routes(fuzzed, started.json()["run_id"])
    route = run["routes"][0]
    return Tenant(
        keys={
            "operator": ADMIN_KEY,
            "merchant": api_key,
            "kiosk": locker.json()["kiosk_key"],
            "driver": route["driver_token"],
        },
        ids={
            "depot_id": depot_id,
            "merchant_id": merchant.json()["merchant_id"],
            "locker_id": locker.json()["locker_id"],
            "order_id": order.json()["order_id"],
            "tracking_code": order.json()["tracking_code"],
            "run_id": run["run_id"],
            "route_id": route["route_id"],
            "platform": "shopify",
            "endpoint_id": "ep_none",
            "carrier": "uber_direct",  # its webhooks are signed: the fuzzer's get 401
        },
    )


def _fuzz(operation: Any, tenant: Tenant, base_url: str, documented: dict[str, Any]) -> None:
    schemes = [scheme for requirement in documented["security"] for scheme in requirement]
    key = next((tenant.keys[s] for s in schemes if s in tenant.keys), None)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    names = [p.name for p in operation.path_parameters]
    real = {n: tenant.ids[n] for n in names if n in tenant.ids}
    example = documented.get("requestBody", {}).get("content", {}).get("application/json", {})
    if "example" in example:
        # The document's own example body, on the real objects: answers that succeed.
        strategy = operation.as_strategy(body=example["example"], path_parameters=real)
        _run_pass(strategy, 2, f"{operation.label} (example)", tenant, base_url, headers)
    for label, mode, real_ids, examples in PASSES:
        if not real_ids and not names:
            continue
        fixed = real if real_ids else None
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed)
        try:
            _run_pass(strategy, examples, f"{operation.label} ({label})", tenant, base_url, headers)
        except hypothesis.errors.Unsatisfiable:
            # Invalid data of an operation that takes none (no body, query or path id).
            assert mode is GenerationMode.NEGATIVE, operation.label


def _run_pass(
    strategy: Any,
    examples: int,
    where: str,
    tenant: Tenant,
    base_url: str,
    headers: dict[str, str],
) -> None:
    """`examples` cases of `strategy` sent; the first failure of each pass kept with its curl."""

    @hypothesis.settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        tenant.requests += 1
        try:
            response = case.call(base_url=base_url, headers=headers, timeout=30)
            tenant.statuses[response.status_code] += 1
            case.validate_response(response, checks=CHECKS)
        except (AssertionError, BaseExceptionGroup) as exc:
            if where not in tenant.failures:
                curl = case.as_curl_command(headers=headers, base_url=base_url)
                tenant.failures[where] = f"{str(exc)[:1500]}\n    {curl[:1500]}"

    run()


def test_every_operation_fuzzed_answers_as_documented_and_never_5xx(
    fuzzed: Runtime, tenant: Tenant
) -> None:
    schema = schemathesis.openapi.from_url(fuzzed.url("/openapi.json"))
    document = schema.raw_schema
    started = time.monotonic()
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.startswith(NOT_FUZZED):
            continue
        documented = document["paths"][operation.path][operation.method.lower()]
        began = time.monotonic()
        _fuzz(operation, tenant, fuzzed.base_url, documented)
        tenant.seconds[operation.label] += time.monotonic() - began
        operations += 1
    seconds = time.monotonic() - started
    print(
        f"\nfuzzed {operations} operations with {tenant.requests} requests in {seconds:.0f} s; "
        f"{len(tenant.failures)} failing; by status: {dict(sorted(tenant.statuses.items()))}; "
        f"slowest: {[(op, round(s)) for op, s in tenant.seconds.most_common(4)]}"
    )
    assert not tenant.failures, "\n\n".join(f"{k}:\n{v}" for k, v in tenant.failures.items())
