"""`fedshield worker --show-schema`: what this node will do to its own data, shown before it joins.

Fetches the experiment's task (its schema rides in it), prints every column the schema uses and how it is
encoded, the columns it drops and why, and the classes; given `--data`, applies the schema to the file
(nothing is sent) and reports the rows, the filled cells, the unknown categories and the ignored columns.
"""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from workers.dataset_errors import DatasetError
from workers.datasets import DatasetSpec
from workers.node import DataFile, NodeClient
from workers.table_schema import UNKNOWN_BUCKET, BooleanColumn, CategoricalColumn, NumericColumn, TableSchema

out = Console()


def print_schema(node: NodeClient, experiment: int | None, data: DataFile | None, *, as_json: bool) -> None:
    """Prints the schema of `experiment` (the newest running one if None); exits 2 if there is none."""
    try:
        experiment_id = experiment if experiment is not None else node.find_running_experiment()
        if experiment_id is None:
            out.print("[red]no running experiment: pass --experiment[/red]")
            raise typer.Exit(2)
        task = node.fetch_task(experiment_id)
    except typer.Exit:
        raise
    except Exception as exc:  # the CLI's boundary: unreachable, refused or unusable, say which and stop
        out.print(f"[red]cannot read the experiment's task from {node.http.base_url}: {exc}[/red]")
        raise typer.Exit(1) from None
    spec = task.data_schema
    if as_json:
        out.print_json(json.dumps(spec.to_dict()))
    else:
        describe(spec, experiment_id)
    if data is None:
        return
    try:
        local = data.for_task(task)
    except DatasetError as exc:
        out.print(f"[red]{data.path.name} does not fit experiment {experiment_id}: {exc}[/red]")
        raise typer.Exit(1) from None
    out.print(
        f"[green]{data.path.name}: {len(local)} samples of {local.x.shape[1:]} features fit experiment "
        f"{experiment_id}[/green]; nothing was sent"
    )


def describe(spec: DatasetSpec, experiment_id: int) -> None:
    """The schema as a table a data holder can read."""
    shape = "x".join(str(d) for d in spec.input_shape)
    out.print(
        f"[bold]experiment {experiment_id}[/bold] trains on [bold]{spec.name}[/bold]: {shape} features per "
        f"sample, classes {', '.join(spec.class_names) or spec.num_classes}"
    )
    if spec.table is None:
        what = (
            "images, resized to this shape"
            if spec.is_image
            else "numeric columns " + ", ".join(spec.feature_names)
        )
        out.print(f"  {what}")
        return
    out.print(table_of(spec.table))


def table_of(schema: TableSchema) -> Table:
    table = Table(title=f"label column: {schema.label_column!r}")
    table.add_column("column")
    table.add_column("kind")
    table.add_column("encoded as")
    table.add_column("empty cells become")
    for column in schema.columns:
        if isinstance(column, NumericColumn):
            table.add_row(
                column.name, "numeric", f"(x - {column.mean:.4g}) / {column.std:.4g}", f"{column.impute:.4g}"
            )
        elif isinstance(column, BooleanColumn):
            table.add_row(
                column.name, "boolean", "1 true/yes, 0 false/no", "true" if column.impute else "false"
            )
        elif isinstance(column, CategoricalColumn):
            shown = ", ".join(column.vocabulary[:8]) + (", ..." if len(column.vocabulary) > 8 else "")
            table.add_row(
                column.name,
                "categorical",
                f"one-hot over {len(column.vocabulary)} ({shown}) + {UNKNOWN_BUCKET} for any other",
                repr(column.impute),
            )
    for dropped in schema.dropped:
        table.add_row(dropped.name, "[dim]dropped[/dim]", f"[dim]{dropped.reason}[/dim]", "")
    return table
