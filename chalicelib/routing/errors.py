"""Errors of the route planner; Step Functions matches them by class name."""

from __future__ import annotations


class RoutingError(Exception):
    """Base class of everything the planner raises on purpose."""


class InvalidProblem(RoutingError):
    """The problem is malformed: unknown depot, empty window, negative demand..."""


class SolverError(RoutingError):
    """An engine crashed or returned something unusable."""


class NoPlanFound(SolverError):
    """No engine produced any plan before the time limit."""


class TravelMatrixError(RoutingError):
    """The travel-matrix provider failed or answered with a malformed matrix."""


class InstanceFormatError(RoutingError):
    """A benchmark instance file could not be parsed."""
