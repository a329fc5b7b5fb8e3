"""End-to-end tests start the local runtime (`python -m chalicelib.local`, what `make run`
runs) in its own process and speak HTTP to it as storefronts, customers and operators do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib.local.aws import free_port

ROOT = Path(__file__).resolve().parents[2]
ADMIN_KEY = "lmadm_e2e_operator_key"
DEPOT_AT = (51.5, -0.12)  # where the tests' own depots stand


@dataclass
class Runtime:
    base_url: str
    info: dict[str, Any]
    log: list[str]

    @property
    def demo(self) -> dict[str, str]:
        return self.info["demo"]

    def url(self, path: str) -> str:
        return self.base_url + path

    def admin(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {ADMIN_KEY}", **kwargs.pop("headers", {})}
        return requests.request(method, self.url(path), headers=headers, timeout=30, **kwargs)

    def depot(self, name: str, vans: int = 0, parcels: int = 50) -> str:
        """A depot of the caller's own at (51.5, -0.12), London time, 5 s solves, with `vans`
        vans of `parcels` parcels (10 kg each) on a 10-hour shift from now."""
        created = self.admin(
            "POST",
            "/v1/depots",
            json={
                "name": name,
                "lat": DEPOT_AT[0],
                "lng": DEPOT_AT[1],
                "timezone": "Europe/London",
                "dispatch": {"time_limit_s": 5},
            },
        )
        assert created.status_code == 201, created.text
        depot_id = str(created.json()["depot_id"])
        start = datetime.now(UTC).replace(microsecond=0)
        shift = {"start": start.isoformat(), "end": (start + timedelta(hours=10)).isoformat()}
        fleet = [
            {
                "vehicle_id": f"van-{n}",
                "profile": "van",
                "capacity": {"parcels": parcels, "weight_kg": parcels * 10},
                "shift": shift,
            }
            for n in range(vans)
        ]
        if fleet:
            answer = self.admin("PUT", f"/v1/depots/{depot_id}/vehicles", json={"vehicles": fleet})
            assert answer.ok, answer.text
        return depot_id

    def merchant(self, api_key: str, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {api_key}", **kwargs.pop("headers", {})}
        return requests.request(method, self.url(path), headers=headers, timeout=30, **kwargs)


@contextmanager
def started_runtime(**env_vars: str) -> Iterator[Runtime]:
    """A local runtime of its own (`env_vars` added to its environment), stopped on exit."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LASTMILE_"))}
    env |= {"PORT": str(port), "LASTMILE_ADMIN_KEY": ADMIN_KEY, "PYTHONUNBUFFERED": "1"}
    env |= env_vars
    proc = subprocess.Popen(
        [sys.executable, "-m", "chalicelib.local"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    log: list[str] = []
    ready: dict[str, Any] = {}
    got_ready = threading.Event()

    def drain() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            log.append(line)
            if line.startswith("LASTMILE_READY "):
                ready.update(json.loads(line.removeprefix("LASTMILE_READY ")))
                got_ready.set()

    threading.Thread(target=drain, daemon=True).start()
    deadline = time.monotonic() + 90
    while not got_ready.wait(0.2):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("local runtime did not start:\n" + "".join(log[-60:]))
    try:
        yield Runtime(base_url=ready["base_url"], info=ready, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def runtime() -> Iterator[Runtime]:
    with started_runtime() as started:
        yield started


@pytest.fixture(scope="session")
def second_merchant(runtime: Runtime) -> dict[str, str]:
    """Another tenant of the same depot, created by the operator through the API."""
    response = runtime.admin(
        "POST",
        "/v1/merchants",
        json={
            "name": "Other Shop",
            "depot_id": runtime.demo["depot_id"],
            "shopify_secret": "shpss_other_merchant_secret",
        },
    )
    assert response.status_code == 201, response.text
    return response.json() | {"shopify_secret": "shpss_other_merchant_secret"}
