"""Writes that stand or fall together, and single conditional writes, whose failed conditions
come back as the domain errors the caller chose."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pynamodb.exceptions import DeleteError, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.domain.errors import ConcurrentUpdate, DomainError
from chalicelib.store.models.base import transaction_connection


class Transaction:
    """Up to 100 writes committed all or none. Each write names the error its condition means.

    PynamoDB sends condition checks, deletes, puts and updates in that order; the errors are
    kept in the same groups so DynamoDB's cancellation reasons map back item by item."""

    def __init__(self) -> None:
        self._checks: list[tuple[tuple[Any, ...], DomainError | None]] = []
        self._deletes: list[tuple[tuple[Any, ...], DomainError | None]] = []
        self._puts: list[tuple[tuple[Any, ...], DomainError | None]] = []
        self._updates: list[tuple[tuple[Any, ...], DomainError | None]] = []

    def __len__(self) -> int:
        return len(self._checks) + len(self._deletes) + len(self._puts) + len(self._updates)

    def put(
        self, item: Model, *, condition: Condition | None = None, on_fail: DomainError | None = None
    ) -> Transaction:
        self._puts.append(((item, condition), on_fail))
        return self

    def update(
        self,
        item: Model,
        actions: Sequence[Action],
        *,
        condition: Condition | None = None,
        on_fail: DomainError | None = None,
    ) -> Transaction:
        self._updates.append(((item, list(actions), condition), on_fail))
        return self

    def delete(
        self, item: Model, *, condition: Condition | None = None, on_fail: DomainError | None = None
    ) -> Transaction:
        self._deletes.append(((item, condition), on_fail))
        return self

    def check(
        self,
        model: type[Model],
        hash_key: str,
        range_key: str | None = None,
        *,
        condition: Condition,
        on_fail: DomainError | None = None,
    ) -> Transaction:
        self._checks.append(((model, hash_key, range_key, condition), on_fail))
        return self

    def commit(self) -> None:
        """Write everything or nothing; a failed condition raises the error its write named,
        a conflict with another transaction raises ConcurrentUpdate."""
        if not len(self):
            return
        try:
            with TransactWrite(connection=transaction_connection()) as tx:
                for (model, hash_key, range_key, condition), _ in self._checks:
                    tx.condition_check(model, hash_key, range_key, condition=condition)
                for (item, condition), _ in self._deletes:
                    tx.delete(item, condition=condition)
                for (item, condition), _ in self._puts:
                    tx.save(item, condition=condition)
                for (item, actions, condition), _ in self._updates:
                    tx.update(item, actions, condition=condition)
        except TransactWriteError as exc:
            if exc.cause_response_code != "TransactionCanceledException":
                raise
            failures = [f for group in self._groups() for _, f in group]
            reasons = exc.cancellation_reasons
            for reason, failure in zip(reasons, failures, strict=False):
                if reason is not None and reason.code == "ConditionalCheckFailed" and failure:
                    raise failure from exc
            if any(r is not None and r.code == "TransactionConflict" for r in reasons):
                raise ConcurrentUpdate("another write to the same objects is in progress") from exc
            raise

    def _groups(self) -> tuple[list[tuple[tuple[Any, ...], DomainError | None]], ...]:
        return (self._checks, self._deletes, self._puts, self._updates)


def condition_failed(exc: PutError | UpdateError | DeleteError) -> bool:
    return exc.cause_response_code == "ConditionalCheckFailedException"


@contextmanager
def failing_as(error: DomainError) -> Iterator[None]:
    """One conditional write (save, update, delete) whose failed condition means `error`."""
    try:
        yield
    except (PutError, UpdateError, DeleteError) as exc:
        if condition_failed(exc):
            raise error from exc
        raise
