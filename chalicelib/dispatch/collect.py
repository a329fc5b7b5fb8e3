"""The Collect step: a run claims its depot's ready orders, oldest first and at most its
policy's cap (the rest wait for the next run), and expired locker parcels to take back, with
conditional writes, and snapshots them for the later steps."""

from __future__ import annotations

from chalicelib.dispatch.concurrent_writes import in_parallel
from chalicelib.dispatch.problem import PLANNING_REASONS
from chalicelib.dispatch.snapshots import RunSnapshots
from chalicelib.domain.dispatch import MAX_ORDERS_PER_RUN, ReadyOrder
from chalicelib.domain.order import Order
from chalicelib.store.dispatch import DispatchRepository
from chalicelib.store.lockers import LockerRepository

# A run holds its depot and its orders for at most this long (the state machine times out at
# one hour): a run that vanished without releasing them gives them up when the lease ends.
LEASE_S = 2 * 3600


class Collector:
    def __init__(
        self,
        repo: DispatchRepository,
        snapshots: RunSnapshots,
        lockers: LockerRepository | None = None,
    ) -> None:
        self._repo = repo
        self._snapshots = snapshots
        self._lockers = lockers

    def collect(self, run_id: str, depot_id: str, now: int, limit: int = MAX_ORDERS_PER_RUN) -> int:
        """Claim what the run will plan, at most `limit` orders; how many orders and
        retrievals it claimed."""
        until = now + LEASE_S

        def take(ready: ReadyOrder) -> Order | None:
            # A retried Collect claims its own orders again (the condition lets it).
            return self._repo.claim(ready.order_id, run_id, now=now, until=until)

        # The index lists them oldest first. Under a cap, orders no finished run has passed
        # over go first (those left out for the fleet being full have had their turn), so a
        # backlog of left-outs never holds new orders back. A claim lost to a race (another
        # run, an edit) makes room for the next one: a full run takes `limit` if that many wait.
        waiting = sorted(
            (r for r in self._repo.ready_orders(depot_id) if r.claimable(run_id, now)),
            key=lambda r: r.left_out_for in PLANNING_REASONS,
        )
        claimed: list[Order] = []
        while waiting and len(claimed) < limit:
            batch, waiting = waiting[: limit - len(claimed)], waiting[limit - len(claimed) :]
            claimed += [o for o in in_parallel(take, batch) if o is not None]
        retrievals = []
        if self._lockers is not None:
            lockers = self._lockers
            retrievals = [
                p
                for p in in_parallel(
                    lambda p: lockers.claim_retrieval(p, run_id, now=now, until=until),
                    lockers.awaiting_retrieval(depot_id),
                )
                if p is not None
            ]
        self._snapshots.put_retrievals(run_id, retrievals)
        self._snapshots.put_orders(run_id, claimed)
        return len(claimed) + len(retrievals)
