"""Typed errors of the orchestrator's domain; the API layer maps each to one HTTP status."""

from __future__ import annotations


class OrchestratorError(Exception):
    """Base of the orchestrator's domain errors; the message is fit to show a person."""


class NotFound(OrchestratorError):
    """The experiment, round, dataset, model or node asked for does not exist."""


class Conflict(OrchestratorError):
    """The request clashes with current state (already registered, wrong status for the action...)."""


class InvalidInput(OrchestratorError):
    """The request is well formed but its content cannot be used (e.g. an unreadable dataset)."""


class Unauthenticated(OrchestratorError):
    """The request does not prove it comes from the wallet it names (no signature, or another key's)."""


class NotEligible(OrchestratorError):
    """The wallet may not take part: it has no eligible stake on chain."""


class TooLarge(OrchestratorError):
    """An upload over its size limit."""


class ChainUnavailable(OrchestratorError):
    """The chain is needed to answer and cannot be reached now."""
