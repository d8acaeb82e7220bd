"""Rich tables for the benches' printed output (the `--json` documents carry the same figures)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.table import Table


def table_of(title: str, columns: Sequence[str], rows: Iterable[Sequence[str]]) -> Table:
    """A table with one column per name and one row per sequence of cells, in order."""
    table = Table(title=title)
    for name in columns:
        table.add_column(name)
    for row in rows:
        table.add_row(*row)
    return table


def yes_no(met: bool) -> str:
    return "[green]yes[/]" if met else "[red]no[/]"
