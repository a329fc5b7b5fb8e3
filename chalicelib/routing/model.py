"""Problem and plan types of the route planner, JSON-serialisable for S3 hand-over.

Units: times are seconds from the problem's horizon start (floats allowed), distances are
metres, weights kilograms, volumes litres, costs in one currency unit. Locations are
(lat, lon) for great-circle travel and plane (x, y) for Euclidean travel.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

StopKind = Literal["delivery", "locker", "pickup"]
TravelKind = Literal["great_circle", "euclidean"]
COMPARTMENT_SIZES = ("S", "M", "L", "XL")

# Why a stop is left out. The first five are properties of the stop alone (no vehicle could
# ever serve it); the last three mean it was servable but lost to other stops: the able
# vehicles were full (capacity_short), or had room but no time left for it (time_short).
REASON_NO_SKILL = "no_vehicle_with_skill"
REASON_OUTSIDE_SHIFT = "outside_every_shift"
REASON_OVER_CAPACITY = "over_capacity"
REASON_WINDOW_UNREACHABLE = "window_unreachable"
REASON_LOCKER_FULL = "locker_full"
REASON_CAPACITY_SHORT = "capacity_short"
REASON_TIME_SHORT = "time_short"
REASON_NOT_PROFITABLE = "not_profitable"
REASONS = (
    REASON_NO_SKILL,
    REASON_OUTSIDE_SHIFT,
    REASON_OVER_CAPACITY,
    REASON_WINDOW_UNREACHABLE,
    REASON_LOCKER_FULL,
    REASON_CAPACITY_SHORT,
    REASON_TIME_SHORT,
    REASON_NOT_PROFITABLE,
)


@dataclass(frozen=True)
class Location:
    lat: float
    lon: float

    def to_dict(self) -> dict[str, Any]:
        return {"lat": self.lat, "lon": self.lon}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Location:
        return cls(float(d["lat"]), float(d["lon"]))


@dataclass(frozen=True)
class TimeWindow:
    start: float
    end: float

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TimeWindow:
        return cls(float(d["start"]), float(d["end"]))


@dataclass(frozen=True)
class Load:
    """An amount in the three capacity dimensions."""

    parcels: int = 0
    weight: float = 0.0
    volume: float = 0.0

    def as_tuple(self) -> tuple[float, float, float]:
        return (float(self.parcels), self.weight, self.volume)

    def to_dict(self) -> dict[str, Any]:
        return {"parcels": self.parcels, "weight": self.weight, "volume": self.volume}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Load:
        return cls(int(d.get("parcels", 0)), float(d.get("weight", 0)), float(d.get("volume", 0)))


@dataclass(frozen=True)
class VehicleProfile:
    """How a kind of vehicle moves: speed, detour over the great circle, range, payload."""

    name: str
    speed_kmh: float
    detour_factor: float = 1.0
    range_m: float | None = None
    payload_kg: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VehicleProfile:
        return cls(**d)


PROFILES: dict[str, VehicleProfile] = {
    p.name: p
    for p in (
        VehicleProfile("van", speed_kmh=30.0, detour_factor=1.35, payload_kg=1200.0),
        VehicleProfile("electric_van", 28.0, 1.35, range_m=180_000.0, payload_kg=900.0),
        VehicleProfile("cargo_bike", 15.0, 1.25, range_m=60_000.0, payload_kg=150.0),
        VehicleProfile("on_foot", 4.5, 1.2, range_m=15_000.0, payload_kg=20.0),
        VehicleProfile("drone", 60.0, 1.0, range_m=20_000.0, payload_kg=2.5),
    )
}


@dataclass(frozen=True)
class Break:
    """A break of `duration` seconds that must start within [earliest, latest]."""

    earliest: float
    latest: float
    duration: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Break:
        return cls(float(d["earliest"]), float(d["latest"]), float(d["duration"]))


@dataclass(frozen=True)
class SlowdownPeriod:
    """Travel departing in [start, end) takes `factor` times its free-flow duration."""

    start: float
    end: float
    factor: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SlowdownPeriod:
        return cls(float(d["start"]), float(d["end"]), float(d["factor"]))


@dataclass(frozen=True)
class Depot:
    id: str
    location: Location

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "location": self.location.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Depot:
        return cls(d["id"], Location.from_dict(d["location"]))


@dataclass(frozen=True)
class Locker:
    """A parcel locker; `free` counts free compartments by size (S < M < L < XL)."""

    id: str
    location: Location
    free: dict[str, int]
    service_base_s: float = 120.0
    service_per_parcel_s: float = 20.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "location": self.location.to_dict(),
            "free": dict(self.free),
            "service_base_s": self.service_base_s,
            "service_per_parcel_s": self.service_per_parcel_s,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Locker:
        return cls(
            d["id"],
            Location.from_dict(d["location"]),
            {k: int(v) for k, v in d["free"].items()},
            float(d.get("service_base_s", 120.0)),
            float(d.get("service_per_parcel_s", 20.0)),
        )


@dataclass(frozen=True)
class Stop:
    """One order to serve: a home delivery, a locker delivery, or a pickup (return).

    A locker stop's location is its locker's; all locker stops of one locker are visited
    together. A pickup is carried to `drop_depot_id` (default: the first depot). `windows`
    bound the service start; no windows means any time. `priority` 0 (lowest) to 4: when
    capacity is short, lower priorities are dropped first. `value`, when set, replaces the
    priority-based penalty for leaving the stop out (a prize: it may be left out as
    not_profitable).
    """

    id: str
    location: Location
    kind: StopKind = "delivery"
    demand: Load = field(default_factory=Load)
    windows: tuple[TimeWindow, ...] = ()
    service_base_s: float = 60.0
    service_per_parcel_s: float = 15.0
    priority: int = 0
    skills: frozenset[str] = frozenset()
    locker_id: str | None = None
    parcel_sizes: tuple[str, ...] = ()
    drop_depot_id: str | None = None
    value: float | None = None

    @property
    def service_s(self) -> float:
        return self.service_base_s + self.service_per_parcel_s * self.demand.parcels

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "location": self.location.to_dict(),
            "kind": self.kind,
            "demand": self.demand.to_dict(),
            "windows": [w.to_dict() for w in self.windows],
            "service_base_s": self.service_base_s,
            "service_per_parcel_s": self.service_per_parcel_s,
            "priority": self.priority,
            "skills": sorted(self.skills),
            "locker_id": self.locker_id,
            "parcel_sizes": list(self.parcel_sizes),
            "drop_depot_id": self.drop_depot_id,
            "value": self.value,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Stop:
        return cls(
            id=str(d["id"]),
            location=Location.from_dict(d["location"]),
            kind=d.get("kind", "delivery"),
            demand=Load.from_dict(d.get("demand", {})),
            windows=tuple(TimeWindow.from_dict(w) for w in d.get("windows", [])),
            service_base_s=float(d.get("service_base_s", 60.0)),
            service_per_parcel_s=float(d.get("service_per_parcel_s", 15.0)),
            priority=int(d.get("priority", 0)),
            skills=frozenset(d.get("skills", [])),
            locker_id=d.get("locker_id"),
            parcel_sizes=tuple(d.get("parcel_sizes", [])),
            drop_depot_id=d.get("drop_depot_id"),
            value=None if d.get("value") is None else float(d["value"]),
        )


@dataclass(frozen=True)
class Vehicle:
    """One vehicle and its driver's day. Capacity weight is further capped by the profile's
    payload, max distance by its range. Costs: fixed when used, per km, per hour of shift
    actually used (route duration). `max_trips` above 1 lets it come back to its start
    depot to reload (capacity full again) `reload_s` seconds, within the same shift."""

    id: str
    depot_id: str
    profile: VehicleProfile
    capacity: Load
    shift: TimeWindow
    end_depot_id: str | None = None
    breaks: tuple[Break, ...] = ()
    max_duration_s: float | None = None
    max_distance_m: float | None = None
    skills: frozenset[str] = frozenset()
    fixed_cost: float = 0.0
    cost_per_km: float = 1.0
    cost_per_hour: float = 0.0
    max_trips: int = 1
    reload_s: float = 600.0

    @property
    def end_depot(self) -> str:
        return self.end_depot_id or self.depot_id

    @property
    def weight_capacity(self) -> float:
        if self.profile.payload_kg is None:
            return self.capacity.weight
        return min(self.capacity.weight, self.profile.payload_kg)

    @property
    def distance_limit(self) -> float | None:
        limits = [x for x in (self.max_distance_m, self.profile.range_m) if x is not None]
        return min(limits) if limits else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "depot_id": self.depot_id,
            "end_depot_id": self.end_depot_id,
            "profile": self.profile.to_dict(),
            "capacity": self.capacity.to_dict(),
            "shift": self.shift.to_dict(),
            "breaks": [b.to_dict() for b in self.breaks],
            "max_duration_s": self.max_duration_s,
            "max_distance_m": self.max_distance_m,
            "skills": sorted(self.skills),
            "fixed_cost": self.fixed_cost,
            "cost_per_km": self.cost_per_km,
            "cost_per_hour": self.cost_per_hour,
            "max_trips": self.max_trips,
            "reload_s": self.reload_s,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Vehicle:
        profile = d["profile"]
        return cls(
            id=str(d["id"]),
            depot_id=d["depot_id"],
            end_depot_id=d.get("end_depot_id"),
            profile=PROFILES[profile]
            if isinstance(profile, str)
            else VehicleProfile.from_dict(profile),
            capacity=Load.from_dict(d["capacity"]),
            shift=TimeWindow.from_dict(d["shift"]),
            breaks=tuple(Break.from_dict(b) for b in d.get("breaks", [])),
            max_duration_s=d.get("max_duration_s"),
            max_distance_m=d.get("max_distance_m"),
            skills=frozenset(d.get("skills", [])),
            fixed_cost=float(d.get("fixed_cost", 0.0)),
            cost_per_km=float(d.get("cost_per_km", 1.0)),
            cost_per_hour=float(d.get("cost_per_hour", 0.0)),
            max_trips=int(d.get("max_trips", 1)),
            reload_s=float(d.get("reload_s", 600.0)),
        )


@dataclass(frozen=True)
class Problem:
    depots: tuple[Depot, ...]
    vehicles: tuple[Vehicle, ...]
    stops: tuple[Stop, ...]
    lockers: tuple[Locker, ...] = ()
    travel: TravelKind = "great_circle"
    traffic: tuple[SlowdownPeriod, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "depots": [d.to_dict() for d in self.depots],
            "vehicles": [v.to_dict() for v in self.vehicles],
            "stops": [s.to_dict() for s in self.stops],
            "lockers": [lk.to_dict() for lk in self.lockers],
            "travel": self.travel,
            "traffic": [t.to_dict() for t in self.traffic],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Problem:
        return cls(
            depots=tuple(Depot.from_dict(x) for x in d["depots"]),
            vehicles=tuple(Vehicle.from_dict(x) for x in d["vehicles"]),
            stops=tuple(Stop.from_dict(x) for x in d["stops"]),
            lockers=tuple(Locker.from_dict(x) for x in d.get("lockers", [])),
            travel=d.get("travel", "great_circle"),
            traffic=tuple(SlowdownPeriod.from_dict(x) for x in d.get("traffic", [])),
        )


@dataclass
class Visit:
    """A stop on a route. `kind` "drop" is a pickup's unloading at its depot; a locker
    visit lists every order served there. Times in seconds; `load_after` is on board."""

    kind: str
    stop_ids: list[str]
    arrival: float
    start: float
    departure: float
    load_after: Load
    location: Location

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "stop_ids": list(self.stop_ids),
            "arrival": self.arrival,
            "start": self.start,
            "departure": self.departure,
            "load_after": self.load_after.to_dict(),
            "location": self.location.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Visit:
        return cls(
            d["kind"],
            list(d["stop_ids"]),
            float(d["arrival"]),
            float(d["start"]),
            float(d["departure"]),
            Load.from_dict(d["load_after"]),
            Location.from_dict(d["location"]),
        )


@dataclass
class PlannedBreak:
    """A break taken after visit number `after_visit` (-1: before the first visit)."""

    after_visit: int
    start: float
    duration: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PlannedBreak:
        return cls(int(d["after_visit"]), float(d["start"]), float(d["duration"]))


@dataclass
class PlannedReload:
    """Back at the start depot after visit number `after_visit`, reloading from `arrival`
    to `departure`; `load` is what the next trip leaves with."""

    after_visit: int
    arrival: float
    departure: float
    load: Load

    def to_dict(self) -> dict[str, Any]:
        return {
            "after_visit": self.after_visit,
            "arrival": self.arrival,
            "departure": self.departure,
            "load": self.load.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PlannedReload:
        return cls(
            int(d["after_visit"]),
            float(d["arrival"]),
            float(d["departure"]),
            Load.from_dict(d["load"]),
        )


@dataclass(frozen=True)
class Trip:
    """One trip of a route: from the depot (`depart`) through visits[first:last] and back."""

    number: int  # 1, 2, ...
    depart: float
    back: float
    first: int
    last: int  # exclusive


@dataclass
class Route:
    vehicle_id: str
    start: float
    end: float
    distance_m: float
    duration_s: float
    start_load: Load
    visits: list[Visit]
    breaks: list[PlannedBreak] = field(default_factory=list)
    reloads: list[PlannedReload] = field(default_factory=list)

    def stop_ids(self) -> list[str]:
        return [sid for v in self.visits if v.kind != "drop" for sid in v.stop_ids]

    def trips(self) -> list[Trip]:
        """The route cut at its reloads: one trip when it has none."""
        cuts = sorted(self.reloads, key=lambda r: r.after_visit)
        trips = []
        first, depart = 0, self.start
        for n, r in enumerate(cuts, start=1):
            trips.append(Trip(n, depart, r.arrival, first, r.after_visit + 1))
            first, depart = r.after_visit + 1, r.departure
        trips.append(Trip(len(cuts) + 1, depart, self.end, first, len(self.visits)))
        return trips

    def to_dict(self) -> dict[str, Any]:
        return {
            "vehicle_id": self.vehicle_id,
            "start": self.start,
            "end": self.end,
            "distance_m": self.distance_m,
            "duration_s": self.duration_s,
            "start_load": self.start_load.to_dict(),
            "visits": [v.to_dict() for v in self.visits],
            "breaks": [b.to_dict() for b in self.breaks],
            "reloads": [r.to_dict() for r in self.reloads],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Route:
        return cls(
            d["vehicle_id"],
            float(d["start"]),
            float(d["end"]),
            float(d["distance_m"]),
            float(d["duration_s"]),
            Load.from_dict(d["start_load"]),
            [Visit.from_dict(v) for v in d["visits"]],
            [PlannedBreak.from_dict(b) for b in d.get("breaks", [])],
            [PlannedReload.from_dict(r) for r in d.get("reloads", [])],
        )


@dataclass
class Unassigned:
    stop_id: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"stop_id": self.stop_id, "reason": self.reason}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Unassigned:
        return cls(d["stop_id"], d["reason"])


@dataclass
class Plan:
    """The planner's answer. `cost` is the objective without drop penalties; `engine`
    names the engine whose plan won; `locker_allocation` maps a locker order id to the
    compartment size reserved for each of its parcels."""

    routes: list[Route]
    unassigned: list[Unassigned]
    cost: float
    distance_m: float
    engine: str
    locker_allocation: dict[str, list[str]] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "routes": [r.to_dict() for r in self.routes],
            "unassigned": [u.to_dict() for u in self.unassigned],
            "cost": self.cost,
            "distance_m": self.distance_m,
            "engine": self.engine,
            "locker_allocation": {k: list(v) for k, v in self.locker_allocation.items()},
            "stats": dict(self.stats),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Plan:
        return cls(
            [Route.from_dict(r) for r in d["routes"]],
            [Unassigned.from_dict(u) for u in d["unassigned"]],
            float(d["cost"]),
            float(d["distance_m"]),
            d["engine"],
            {k: list(v) for k, v in d.get("locker_allocation", {}).items()},
            dict(d.get("stats", {})),
        )
