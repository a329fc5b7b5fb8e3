"""What an engine hands back: node sequences per vehicle, before exact re-timing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class EngineRoute:
    vehicle: int
    nodes: list[int]  # service and drop nodes in visit order, depots excluded
    depart: float | None = None  # seconds; None means at shift start
    break_gaps: list[int] | None = None  # gap index of each of the vehicle's breaks
    reloads: list[int] | None = None  # gaps (before nodes[g]) where it reloads at its depot


@dataclass
class EngineResult:
    engine: str
    routes: list[EngineRoute]
    stats: dict[str, Any] = field(default_factory=dict)
