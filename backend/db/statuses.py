"""The statuses the database stores for rounds, settlements and settlement attempts, defined once.

The stored strings are the enums' values; `StatusColumn` reads them back as the enum. The experiment's
status is `workers.statuses.ExperimentStatus`, since the node reads it too.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Dialect, String
from sqlalchemy.types import TypeDecorator

from workers.statuses import ExperimentStatus

S = TypeVar("S", bound=StrEnum)


class RoundStatus(StrEnum):
    """``open`` (takes updates) → ``screening`` (being closed) → ``completed``; ``cancelled`` when stopped."""

    OPEN = "open"
    SCREENING = "screening"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class SettlementStatus(StrEnum):
    """A round's settlement on chain, as stored (docs/LEDGER.md).

    ``pending``: no live attempt; ``sending``: an attempt signed and maybe broadcast, or mined with fewer
    confirmations than required; ``confirmed``: final, its receipt deep enough and still on chain when last
    looked at; ``failed``: reverted for a reason no resend can fix. The API says ``sent`` for ``sending``
    (`PublicSettlementStatus`).
    """

    PENDING = "pending"
    SENDING = "sending"
    CONFIRMED = "confirmed"
    FAILED = "failed"


class PublicSettlementStatus(StrEnum):
    """A settlement's status as the API shows it: ``sent`` is the stored ``sending`` (handed to the chain,
    receipt not yet final); the other values are the stored ones."""

    PENDING = "pending"
    SENT = "sent"
    CONFIRMED = "confirmed"
    FAILED = "failed"

    @classmethod
    def of(cls, status: SettlementStatus) -> PublicSettlementStatus:
        return _PUBLIC_SETTLEMENT[status]


_PUBLIC_SETTLEMENT = {
    SettlementStatus.PENDING: PublicSettlementStatus.PENDING,
    SettlementStatus.SENDING: PublicSettlementStatus.SENT,
    SettlementStatus.CONFIRMED: PublicSettlementStatus.CONFIRMED,
    SettlementStatus.FAILED: PublicSettlementStatus.FAILED,
}


class AttemptState(StrEnum):
    """One signed settlement transaction: ``unconfirmed`` (signed, maybe in a mempool), ``mined`` (its receipt
    was seen), ``replaced`` (another attempt of the same settlement was mined), ``dead`` (its nonce was spent
    by another transaction, or it vanished from the chain: it can never be mined) or ``reverted``."""

    UNCONFIRMED = "unconfirmed"
    MINED = "mined"
    REPLACED = "replaced"
    DEAD = "dead"
    REVERTED = "reverted"


# Settlements the outbox still has to bring to the chain.
OPEN_SETTLEMENTS = (SettlementStatus.PENDING, SettlementStatus.SENDING)
# Attempts that may still become (or are) the settlement's transaction.
LIVE_ATTEMPTS = (AttemptState.UNCONFIRMED, AttemptState.MINED)


class StatusColumn(TypeDecorator[S]):
    """A status column: the enum's value stored as a plain string (no database enum type, so adding a status
    needs no migration), read back as the enum."""

    impl = String(16)
    cache_ok = True

    def __init__(self, enum: type[S], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.enum = enum

    def process_bind_param(self, value: S | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> S | None:
        return None if value is None else self.enum(value)


__all__ = [
    "LIVE_ATTEMPTS",
    "OPEN_SETTLEMENTS",
    "AttemptState",
    "ExperimentStatus",
    "PublicSettlementStatus",
    "RoundStatus",
    "SettlementStatus",
    "StatusColumn",
]
