"""Fulfilment claims in the main table beside the order (pk ORDER#<id>, sk FULFILMENT#<platform>):
a conditional put takes one, a conditional delete gives it up, an update settles it."""

from __future__ import annotations

import time

from pynamodb.exceptions import DeleteError, PutError
from pynamodb.expressions.update import Action

from chalicelib.domain.times import utc_now
from chalicelib.fulfilment.claims import CLAIMED, LEASE_S, ClaimHeld, FulfilmentClaim
from chalicelib.store.models.base import MainItem
from chalicelib.store.models.fulfilment import FulfilmentClaimItem
from chalicelib.store.reads import get_one
from chalicelib.store.transaction import condition_failed


def claim_key(order_id: str, platform: str) -> tuple[str, str]:
    return f"ORDER#{order_id}", f"FULFILMENT#{platform}"


class FulfilmentClaims:
    def claim(self, order_id: str, merchant_id: str, platform: str) -> bool:
        """True when this call holds the claim; False when the order was reported (or refused)
        before. A claim still held by a live attempt raises ClaimHeld (the stream comes back
        later); one whose attempt died (lease over) is taken over."""
        now = int(time.time())
        claim = FulfilmentClaimItem(
            *claim_key(order_id, platform),
            order_id=order_id,
            merchant_id=merchant_id,
            platform=platform,
            state=CLAIMED,
            claimed_at=utc_now(),
            lease_until=now + LEASE_S,
        )
        try:
            claim.save(
                condition=MainItem.pk.does_not_exist()
                | ((FulfilmentClaimItem.state == CLAIMED) & (FulfilmentClaimItem.lease_until < now))
            )
        except PutError as exc:
            if not condition_failed(exc):
                raise
            held = get_one(FulfilmentClaimItem, *claim_key(order_id, platform))
            if held and held.state == CLAIMED:
                raise ClaimHeld(f"fulfilment of {order_id} is being reported; retry later") from exc
            return False
        return True

    def release(self, order_id: str, platform: str) -> None:
        """Give up a claim still held (not one already settled) so the next delivery retries."""
        try:
            FulfilmentClaimItem(*claim_key(order_id, platform)).delete(
                condition=FulfilmentClaimItem.state == CLAIMED
            )
        except DeleteError as exc:
            # Settled (or gone) meanwhile: nothing held is left to give up.
            if not condition_failed(exc):
                raise

    def settle(
        self,
        order_id: str,
        platform: str,
        state: str,
        *,
        fulfilment_id: str | None = None,
        tracking_number: str | None = None,
        tracking_url: str | None = None,
        reason: str | None = None,
        http_status: int | None = None,
        answer: str | None = None,
    ) -> None:
        """Mark the claim REPORTED or FAILED, with what the platform answered."""
        texts = (
            (FulfilmentClaimItem.fulfilment_id, fulfilment_id),
            (FulfilmentClaimItem.tracking_number, tracking_number),
            (FulfilmentClaimItem.tracking_url, tracking_url),
            (FulfilmentClaimItem.reason, reason),
            (FulfilmentClaimItem.answer, answer),
        )
        actions: list[Action] = [
            FulfilmentClaimItem.state.set(state),
            FulfilmentClaimItem.settled_at.set(utc_now()),
        ]
        actions += [attr.set(value) for attr, value in texts if value is not None]
        if http_status is not None:
            actions.append(FulfilmentClaimItem.http_status.set(http_status))
        FulfilmentClaimItem(*claim_key(order_id, platform)).update(actions)

    def get(self, order_id: str, platform: str) -> FulfilmentClaim | None:
        item = get_one(FulfilmentClaimItem, *claim_key(order_id, platform))
        if item is None:
            return None
        return FulfilmentClaim(
            order_id=item.order_id,
            merchant_id=item.merchant_id,
            platform=item.platform,
            state=item.state,
            claimed_at=item.claimed_at,
            lease_until=int(item.lease_until),
            settled_at=item.settled_at,
            fulfilment_id=item.fulfilment_id,
            tracking_number=item.tracking_number,
            tracking_url=item.tracking_url,
            reason=item.reason,
            http_status=int(item.http_status) if item.http_status is not None else None,
            answer=item.answer,
        )
