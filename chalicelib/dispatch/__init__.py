"""Dispatch: the Step Functions task handlers that turn a depot's ready orders into routes."""
