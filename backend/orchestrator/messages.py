"""Human text for events: "Round 3 opened", "Rejected update from 0xab12…: cosine -0.98 below 0.00"."""

from __future__ import annotations

from decimal import Decimal


def short_address(address: str) -> str:
    """0xAb12…Cd34 style: enough to recognise a wallet in a log line."""
    return f"{address[:6]}…{address[-4:]}" if len(address) > 12 else address


def short_hash(value: str) -> str:
    return f"{value[:10]}…" if len(value) > 12 else value


def flt_text(amount: Decimal | str | float) -> str:
    """An FLT amount without trailing zeros: 15, 10.5."""
    value = Decimal(str(amount)).normalize()
    return format(value, "f")
