"""``leadrelay score ...``: train the learned lead score (registered in cli.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

if TYPE_CHECKING:
    from leadrelay.scoring import Training

score_app = typer.Typer(help="The learned lead score: train a model on past outcomes.")


@score_app.command("train")
def score_train(
    outcomes: Annotated[
        Path, typer.Argument(help="CSV/JSON of past leads with a won/converted column.")
    ],
    out_file: Annotated[Path, typer.Option("--out", "-o", help="Write the model file here.")],
    target: Annotated[
        str | None,
        typer.Option(help="The outcome column (default: won, converted, IsConverted, ...)."),
    ] = None,
    test_size: Annotated[
        float, typer.Option(help="Share of rows held out to measure the model (0.1-0.5).")
    ] = 0.25,
    seed: Annotated[int, typer.Option(help="Seed of the split and the calibration folds.")] = 7,
    drop: Annotated[
        list[str] | None, typer.Option("--drop", help="A column to leave out; repeatable.")
    ] = None,
) -> None:
    """Fit a calibrated model, report its AUC on held-out leads, save it for the policy."""
    from leadrelay.cli import _reported, out
    from leadrelay.scoring import save_model, train_model

    with _reported():
        training = train_model(
            outcomes, target=target, test_size=test_size, seed=seed, drop=tuple(drop or ())
        )
        model = save_model(training.model, out_file)
    _print_training(training)
    info = model.info
    out.print(
        f"[green]saved[/] {out_file} (sha256 {info.digest[:12]}). Use it in the policy:"
        f"\n  screening: {{score_model: {{path: {out_file}}}}}   then e.g."
        "  priority: {high: 'model_score >= 0.6'}",
        soft_wrap=True,
        highlight=False,
    )


def _print_training(training: Training) -> None:
    from leadrelay.cli import out

    info, data = training.model.info, training.dataset
    skipped = f"; {data.skipped} with a blank outcome skipped" if data.skipped else ""
    out.print(
        f"[bold]{data.source}[/]: {data.rows:,} leads with an outcome in {data.target!r}"
        f" ({data.won:,} won, base rate {info.base_rate:.1%}){skipped}",
        highlight=False,
    )
    out.print(f"features used: {', '.join(info.features)}", highlight=False, soft_wrap=True)
    if info.dropped:
        dropped = Table(title="columns left out", title_justify="left")
        dropped.add_column("column")
        dropped.add_column("why")
        for column, reason in info.dropped:
            dropped.add_row(column, reason)
        out.print(dropped)
    verdict = (
        "no better than chance" if info.auc < 0.55 else "weak" if info.auc < 0.65 else "useful"
    )
    out.print(
        f"held-out leads: {info.rows_test:,} (trained on {info.rows_train:,}, seed {info.seed})\n"
        f"AUC {info.auc:.3f} ({verdict}; 0.5 = chance, 1 = perfect ranking)   "
        f"Brier {info.brier:.4f} (always guessing the base rate:"
        f" {info.base_rate * (1 - info.base_rate):.4f})",
        highlight=False,
    )
    bins = Table(title="calibration on held-out leads", title_justify="left")
    for name in ("predicted band", "leads", "predicted", "actually won"):
        bins.add_column(name, justify="left" if name == "predicted band" else "right")
    for band in info.calibration:
        bins.add_row(
            f"{band.low:.2f}-{band.high:.2f}",
            f"{band.count:,}",
            f"{band.predicted:.1%}",
            f"{band.observed:.1%}",
        )
    out.print(bins)
