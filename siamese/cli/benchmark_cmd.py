"""``siamese benchmark lfw CONFIG``: LFW View 2 by its protocol (see :mod:`siamese.benchmark`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from siamese.cli.model_cmds import fallback_lines
from siamese.cli.output import emit, handle_errors
from siamese.cli.params import path_argument, path_option

benchmark_app = typer.Typer(help="Benchmarks by their published protocols: lfw (LFW View 2, 10 folds).",
                            no_args_is_help=True)


@benchmark_app.command("lfw")
@handle_errors
def lfw(
    config: Path = path_argument(...,
                                  help="Training config (YAML) of every fold's model, e.g. configs/lfw.yaml."),
    out: Path = path_option(..., "--out",
                             help="Run folder: fold-K/ (model + fold.json), report.json, roc.png. "
                             "Rerunning skips the folds already finished there."),
    data: Path | None = path_option(None, "--data", help="Face data root (default: $SIAMESE_DATA)."),
    folds: str | None = typer.Option(None, "--folds", help="Folds to run, e.g. 0,1 (default: all 10)."),
    overrides: list[str] = typer.Option([], "--set", help="Override a config key: --set train.epochs=3."),
    pairs: Path | None = path_option(None, "--pairs",
                                      help="View 2 pairs file (default: DATA/lfw/pairs.txt)."),
    images: Path | None = path_option(None, "--images",
                                       help="LFW image folder (default: DATA/lfw/lfw-deepfunneled)."),
    max_pairs_per_fold: int | None = typer.Option(None, "--max-pairs-per-fold",
                                                  help="Miniature run: the first N pairs of each fold (half genuine)."),
    max_people: int | None = typer.Option(None, "--max-people",
                                          help="Miniature run: train each fold on at most N people."),
    flip: bool = typer.Option(False, "--flip", help="Average each face's embedding with its mirror image's."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON (no progress)."),
) -> None:
    """LFW View 2: per fold, train without the fold's people, threshold from the other folds, score the fold."""
    from siamese import api

    def log(line: str) -> None:
        typer.echo(f"siamese: {line}", err=True)

    result = api.benchmark_lfw(config, out, data=data, folds=folds, overrides=overrides, pairs=pairs, images=images,
                               max_pairs_per_fold=max_pairs_per_fold, max_people=max_people, flip=flip,
                               progress=not (quiet or as_json), log=None if as_json else log)
    emit(result.to_dict(), as_json, _text)


def _text(p: dict[str, Any]) -> str:
    kf = p["kfold"]
    se = f"{p['standard_error']:.4f}" if p["standard_error"] is not None else "n/a (one fold)"
    lines = [f"LFW View 2 accuracy ({kf['n_folds']} fold(s), threshold from the other folds): "
             f"{p['mean_accuracy']:.4f} +- {se} (standard error)"]
    lines += [f"  fold {f['fold']}: {f['accuracy']:.4f} (threshold {f['threshold']:.4f}, {f['test_pairs']} pairs, "
              f"trained on {f['train_people']} people{', finished earlier' if f['resumed'] else ''})"
              for f in p["folds"]]
    pooled = p["pooled"]
    lines.append(f"pooled over the folds (each by its own model): ROC AUC {pooled['roc_auc']:.4f}   "
                 f"EER {pooled['eer']:.4f}")
    lines += [f"TAR @ FAR {v['target_far']:g}: {v['tar']:.4f}" for v in pooled["tar_at_far"].values()]
    lines.append(f"category: {p['category']['label']}")
    lines.append(f"pairs scored: {p['pairs_scored']} (skipped {p['pairs_skipped']})")
    lines += fallback_lines(p["fallback_files"])
    lines += [f"note: {n}" for n in p["notes"]]
    lines.append("report: " + ", ".join(p["report_files"].values()))
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    app.add_typer(benchmark_app, name="benchmark")
