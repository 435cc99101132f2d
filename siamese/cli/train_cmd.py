"""``siamese train CONFIG.yaml``."""

from __future__ import annotations

from pathlib import Path

import typer

from siamese.cli.output import emit, handle_errors
from siamese.cli.params import path_argument, path_option

SHOWN = ("best_accuracy", "roc_auc", "eer")


@handle_errors
def train(
    config: Path = path_argument(..., help="Training config (YAML), e.g. configs/orl-smoke.yaml."),
    data: Path | None = path_option(None, "--data", help="Face data root (default: $SIAMESE_DATA)."),
    out: Path | None = path_option(None, "--out",
                                    help="Model directory to write (default: runs/<config name>)."),
    overrides: list[str] = typer.Option([], "--set", help="Override a config key: --set train.epochs=3."),
    debug: bool = typer.Option(False, "--debug", help="Run eagerly with numeric checks (slow)."),
    force: bool = typer.Option(False, "--force", help="Overwrite a model already in --out."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Train a face-embedding model from a YAML config and write a model directory."""
    from siamese import api

    result = api.train(config, out or Path("runs") / config.stem, data=data, overrides=overrides, force=force,
                       progress=not (quiet or as_json), debug=debug)
    emit(result.to_dict(), as_json, lambda p: (
        f"model written to {p['model_dir']} in {p['seconds']} s\n"
        + "\n".join(f"  val {k}: {p['validation_before_training'].get(k, float('nan')):.4f} before training -> "
                    f"{v:.4f} after" for k, v in p["validation"].items() if k in SHOWN)))


def register(app: typer.Typer) -> None:
    app.command("train")(train)
