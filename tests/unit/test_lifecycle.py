import pytest

from chalicelib.domain.errors import IllegalTransition
from chalicelib.domain.lifecycle import ALLOWED, TERMINAL, OrderStatus, check_move, sources_of

S = OrderStatus


def test_every_status_has_its_moves_declared() -> None:
    assert set(ALLOWED) == set(OrderStatus)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.RECEIVED, S.READY),
        (S.RECEIVED, S.NEEDS_ATTENTION),
        (S.NEEDS_ATTENTION, S.READY),
        (S.READY, S.PLANNED),
        (S.PLANNED, S.OUT_FOR_DELIVERY),
        (S.OUT_FOR_DELIVERY, S.DELIVERED),
        (S.OUT_FOR_DELIVERY, S.FAILED_ATTEMPT),
        (S.OUT_FOR_DELIVERY, S.IN_LOCKER),
        (S.FAILED_ATTEMPT, S.READY),
        (S.FAILED_ATTEMPT, S.RETURNED),
        (S.IN_LOCKER, S.COLLECTED),
        (S.IN_LOCKER, S.RETURNED),
        (S.READY, S.CANCELLED),
        (S.PLANNED, S.READY),
    ],
)
def test_allowed_moves(current: OrderStatus, target: OrderStatus) -> None:
    check_move(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.RECEIVED, S.DELIVERED),
        (S.READY, S.DELIVERED),
        (S.DELIVERED, S.READY),
        (S.CANCELLED, S.READY),
        (S.COLLECTED, S.IN_LOCKER),
        (S.OUT_FOR_DELIVERY, S.CANCELLED),
        (S.IN_LOCKER, S.DELIVERED),
    ],
)
def test_illegal_moves_raise(current: OrderStatus, target: OrderStatus) -> None:
    with pytest.raises(IllegalTransition, match=f"from {current} to {target}"):
        check_move(current, target)


def test_terminal_statuses_go_nowhere() -> None:
    assert {S.DELIVERED, S.COLLECTED, S.RETURNED, S.CANCELLED} == TERMINAL


def test_sources_of_cancelled_excludes_parcels_on_the_road() -> None:
    sources = sources_of(S.CANCELLED)
    assert S.READY in sources
    assert S.OUT_FOR_DELIVERY not in sources
    assert S.IN_LOCKER not in sources
