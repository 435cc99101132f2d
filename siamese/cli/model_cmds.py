"""Commands that need a model: ``evaluate``, ``calibrate``, ``export``, ``verify``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from siamese.cli.output import emit, fail, handle_errors
from siamese.cli.params import MODEL_OPT, path_argument, path_option


@handle_errors
def evaluate(
    model: Path = path_argument(..., help="Model directory."),
    pairs: Path = path_option(..., "--pairs", help="Pairs file: LFW pairs.txt / View 1 file, or CSV."),
    images: Path | None = path_option(None, "--images",
                                       help="Image root for LFW pairs (default: beside the file)."),
    report: Path | None = path_option(None, "--report",
                                       help="Write report.json and ROC/DET/histogram PNGs here."),
    flip: bool = typer.Option(False, "--flip", help="Average each face's embedding with its mirror image's."),
    calibrate: bool = typer.Option(False, "--calibrate", help="Also store the threshold for --far in MODEL_DIR."),
    far: float = typer.Option(1e-3, "--far", help="Target false-accept rate for --calibrate."),
    as_json: bool = typer.Option(False, "--json", help="Print every figure as JSON."),
) -> None:
    """Evaluate a model on a pairs file (LFW 10-fold protocol for pairs.txt) and optionally calibrate."""
    from siamese import api

    result = api.evaluate(model, pairs, images=images, flip=flip, report=report,
                          calibrate_far=far if calibrate else None, progress=not as_json)
    emit(result.to_dict(), as_json, _evaluation_text)


def fallback_lines(files: list[dict[str, str]], shown: int = 20) -> list[str]:
    """The photos scored on their centre crop (no face found), one line each (at most ``shown``)."""
    if not files:
        return []
    lines = [f"no face found in {len(files)} photo(s): scored on the centre crop"]
    lines += [f"  {f['path']}: {f['reason']}" for f in files[:shown]]
    if len(files) > shown:
        lines.append(f"  ... and {len(files) - shown} more (--json lists them all)")
    return lines


def _evaluation_text(p: dict[str, Any]) -> str:
    lines = [f"pairs scored: {p['pairs_scored']} (skipped {p['pairs_skipped']})"]
    lines += fallback_lines(p.get("fallback_files", []))
    kf = p.get("kfold")
    if kf:
        kind = "official folds" if p.get("official_folds") else "seeded stratified folds"
        lines.append(f"accuracy ({kf['n_folds']}-fold, {kind}, threshold from the other folds): "
                     f"{kf['mean_accuracy']:.4f} +- {kf['standard_error']:.4f} (standard error)")
    lines.append(f"best accuracy (threshold {p['best_threshold']:.4f}, tuned on these pairs: optimistic): "
                 f"{p['best_accuracy']:.4f}")
    lines.append(f"ROC AUC: {p['roc_auc']:.4f}   EER: {p['eer']:.4f}")
    for v in p["tar_at_far"].values():
        lines.append(f"TAR @ FAR {v['target_far']:g}: {v['tar']:.4f} (threshold {v['threshold']:.4f})")
    if "calibration" in p:
        lines.append(f"calibrated threshold: {p['calibration']['threshold']:.4f}")
    if "report_files" in p:
        lines.append("report: " + ", ".join(p["report_files"].values()))
    return "\n".join(lines)


@handle_errors
def calibrate(
    model: Path | None = path_argument(None,
                                        help="Model directory (default: the default model; the one shipped in "
                                             "the package is copied to the user data dir, never changed)."),
    pairs: Path = path_option(..., "--pairs",
                               help="Pairs file to choose the threshold on (not your test set)."),
    images: Path | None = path_option(None, "--images", help="Image root for LFW pairs."),
    far: float = typer.Option(1e-3, "--far", help="Target false-accept rate."),
    flip: bool = typer.Option(False, "--flip"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Choose the decision threshold for a target FAR on a pairs file and store it in MODEL_DIR."""
    from siamese import api

    cal = api.calibrate(model, pairs, images=images, far=far, flip=flip, progress=not as_json).to_dict()
    emit(cal, as_json, lambda c: f"threshold {c['threshold']:.4f} for FAR <= {far:g} "
         f"(achieved FAR {c.get('far', float('nan')):.4g}, TAR {c.get('tar', float('nan')):.4f}), "
         f"stored in {c['meta']['model_dir']}")


@handle_errors
def export(
    model: Path = path_argument(..., help="Model directory."),
    fmt: str = typer.Option("tflite", "--format", help="tflite | savedmodel"),
    quantize: str | None = typer.Option(None, "--quantize", help="float16 | int8 (tflite only)"),
    out: Path | None = path_option(None, "--out",
                                    help="Output file (tflite) or folder (savedmodel); without it, "
                                         "a TFLite export replaces MODEL's own runtime model (embedding.tflite)."),
    representative: Path | None = path_option(None, "--representative",
                                               help="Folder of face photos for int8 calibration."),
    pairs: Path | None = path_option(None, "--pairs",
                                      help="Compare accuracy of the export and the Keras model."),
    images: Path | None = path_option(None, "--images"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Export the embedding model for serving; with --pairs, print its accuracy next to the Keras model's."""
    from siamese import api

    result = api.export(model, out, fmt=fmt, quantize=quantize, representative=representative, pairs=pairs,
                        images=images, progress=not as_json)
    emit(result.to_dict(), as_json, _export_text)


def _export_text(p: dict[str, Any]) -> str:
    lines = [f"exported to {p['export']}"]
    if "accuracy" in p:
        lines.append(f"pairs scored: {p['pairs_scored']} (skipped {p['pairs_skipped']}: a photo could not be used)")
        lines += [f"  {e['path']}: {e['reason']}" for e in p["image_errors"][:20]]
        if len(p["image_errors"]) > 20:
            lines.append(f"  ... and {len(p['image_errors']) - 20} more (--json lists them all)")
        lines += [f"  {k} accuracy: {v:.4f}" for k, v in p["accuracy"].items()]
    return "\n".join(lines)


@handle_errors
def verify(
    image_a: Path = path_argument(..., help="First photo."),
    image_b: Path | None = path_argument(None,
                                          help="Second photo (or use --claim NAME with a gallery)."),
    claim: str | None = typer.Option(None, "--claim", help="Verify IMAGE_A against this enrolled identity."),
    model: Path | None = MODEL_OPT,
    gallery: str | None = typer.Option(None, "--gallery", "-g", help="Gallery dir or Milvus address (default: "
                                       "$SIAMESE_GALLERY)."),
    threshold: float | None = typer.Option(None, "--threshold", help="Distance threshold (default: calibrated)."),
    check_face: bool = typer.Option(False, "--check-face", help="Models on pre-aligned crops (detector none): "
                                    "refuse photos in which YuNet finds no face."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Is it the same person? Exit 0 = same, 1 = different, 2 = error."""
    from siamese import api

    if image_b is not None and claim is not None:
        fail("give IMAGE_B or --claim NAME, not both")
    if image_b is None and claim is None:
        fail("give a second photo IMAGE_B, or --claim NAME to check IMAGE_A against an enrolled person")
    result = api.verify(image_a, image_b, claim=claim, model=model, gallery=gallery, threshold=threshold,
                        check_face=check_face)
    emit(result.to_dict(), as_json, lambda r: f"{'same person' if r['same'] else 'different people'} "
         f"(distance {r['distance']:.4f}, threshold {r['threshold']:.4f})")
    raise typer.Exit(0 if result.same else 1)


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate)
    app.command("calibrate")(calibrate)
    app.command("export")(export)
    app.command("verify")(verify)
