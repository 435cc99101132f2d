"""Commands that need a model: ``evaluate``, ``calibrate``, ``export``, ``verify``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from siamese.cli.output import emit, fail, handle_errors

MODEL_OPT = typer.Option(None, "--model", "-m", help="Model directory (default: $SIAMESE_MODEL or the user data dir).")


def _model_dir(path: Path | None) -> Any:
    from siamese.model_dir import ModelDir
    from siamese.paths import default_model_dir

    return ModelDir(path or default_model_dir())


def _evaluate(model_dir: Path, pairs: Path, images: Path | None, flip: bool, progress: bool) -> tuple[Any, Any]:
    from siamese.evaluation import evaluate_distances
    from siamese.verification import FaceEmbedder, load_pairs, pair_distances

    pairs_set = load_pairs(pairs, images)
    embedder = FaceEmbedder(model_dir, flip=flip)
    pd = pair_distances(embedder, pairs_set, progress=progress)
    if len(pd.same) == 0:
        fail(f"{pairs}: no pair could be scored (every image failed; first error: "
             f"{pd.errors[0][0] + ': ' + pd.errors[0][1] if pd.errors else 'none'})")
    # pairs.txt carries its 10 official folds; other files get 10 seeded stratified folds, so that the headline
    # accuracy always uses a threshold chosen on other pairs (best_accuracy, tuned on the pairs themselves, is
    # reported too but is optimistic)
    folds: Any = pd.folds
    if folds is None:
        k = min(10, int(min((pd.same == 1).sum(), (pd.same == 0).sum())))
        folds = k if k >= 2 else None
    return evaluate_distances(pd.distances, pd.same, folds=folds), pd


@handle_errors
def evaluate(
    model: Path = typer.Argument(..., help="Model directory."),
    pairs: Path = typer.Option(..., "--pairs", help="Pairs file: LFW pairs.txt / View 1 file, or CSV."),
    images: Path | None = typer.Option(None, "--images", help="Image root for LFW pairs (default: beside the file)."),
    report: Path | None = typer.Option(None, "--report", help="Write report.json and ROC/DET/histogram PNGs here."),
    flip: bool = typer.Option(False, "--flip", help="Average each face's embedding with its mirror image's."),
    calibrate: bool = typer.Option(False, "--calibrate", help="Also store the threshold for --far in MODEL_DIR."),
    far: float = typer.Option(1e-3, "--far", help="Target false-accept rate for --calibrate."),
    as_json: bool = typer.Option(False, "--json", help="Print every figure as JSON."),
) -> None:
    """Evaluate a model on a pairs file (LFW 10-fold protocol for pairs.txt) and optionally calibrate."""
    result, pd = _evaluate(model, pairs, images, flip, progress=not as_json)
    payload = result.to_dict()
    payload.update(pairs_file=str(pairs), pairs_scored=int(len(pd.same)), pairs_skipped=pd.skipped,
                   image_errors=len(pd.errors), flip=flip, official_folds=pd.folds is not None)
    if report is not None:
        from siamese.evaluation import write_report

        files = write_report(result, pd.distances, pd.same, report)
        payload["report_files"] = {k: str(v) for k, v in files.items()}
    if calibrate:
        payload["calibration"] = _store_calibration(model, pd, far, pairs)
    emit(payload, as_json, _evaluation_text)


def _store_calibration(model: Path, pd: Any, far: float, pairs: Path) -> dict[str, Any]:
    from siamese.evaluation import calibrate_threshold
    from siamese.model_dir import CALIBRATION_FILE, ModelDir

    md = ModelDir(model)
    cal = calibrate_threshold(pd.distances, pd.same, far=far,
                              meta={"source": str(pairs), "model": md.fingerprint, "distance": md.distance})
    cal.save(md.path / CALIBRATION_FILE)
    return cal.to_dict()


def _evaluation_text(p: dict[str, Any]) -> str:
    lines = [f"pairs scored: {p['pairs_scored']} (skipped {p['pairs_skipped']})"]
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
    model: Path = typer.Argument(..., help="Model directory."),
    pairs: Path = typer.Option(..., "--pairs", help="Pairs file to choose the threshold on (not your test set)."),
    images: Path | None = typer.Option(None, "--images", help="Image root for LFW pairs."),
    far: float = typer.Option(1e-3, "--far", help="Target false-accept rate."),
    flip: bool = typer.Option(False, "--flip"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Choose the decision threshold for a target FAR on a pairs file and store it in MODEL_DIR."""
    from siamese.verification import FaceEmbedder, load_pairs, pair_distances

    pd = pair_distances(FaceEmbedder(model, flip=flip), load_pairs(pairs, images), progress=not as_json)
    cal = _store_calibration(model, pd, far, pairs)
    emit(cal, as_json, lambda c: f"threshold {c['threshold']:.4f} for FAR <= {far:g} "
         f"(achieved FAR {c.get('far', float('nan')):.4g}, TAR {c.get('tar', float('nan')):.4f})")


@handle_errors
def export(
    model: Path = typer.Argument(..., help="Model directory."),
    fmt: str = typer.Option("savedmodel", "--format", help="savedmodel | tflite"),
    quantize: str | None = typer.Option(None, "--quantize", help="float16 | int8 (tflite only)"),
    out: Path = typer.Option(..., "--out", help="Output folder (savedmodel) or file (tflite)."),
    representative: Path | None = typer.Option(None, "--representative",
                                               help="Folder of face photos for int8 calibration."),
    pairs: Path | None = typer.Option(None, "--pairs", help="Compare accuracy of the export and the Keras model."),
    images: Path | None = typer.Option(None, "--images"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Export the embedding model for serving; with --pairs, print its accuracy next to the Keras model's."""

    from siamese.export import ExportedEmbedder, export_model
    from siamese.verification import FaceEmbedder, load_pairs, unpack_faces

    md = _model_dir(model)
    embedder = FaceEmbedder(md)
    reps = None
    pairs_set = load_pairs(pairs, images) if pairs else None
    if quantize == "int8":
        if representative is not None:
            files = sorted(str(p) for p in representative.rglob("*") if p.is_file())
        elif pairs_set is not None:
            files = sorted(set(map(str, pairs_set.paths_a)))
        else:
            files = []
        reps = unpack_faces(embedder.aligner.align_files(files[:200], progress=not as_json))[0]
    path = export_model(md, fmt, out, quantize=quantize, representative=reps)
    payload: dict[str, Any] = {"export": str(path), "format": fmt, "quantize": quantize}
    if pairs_set is not None:
        payload["accuracy"] = _compare(embedder, ExportedEmbedder(path), pairs_set, progress=not as_json)
    emit(payload, as_json, lambda p: f"exported to {p['export']}" + (
        "\n" + "\n".join(f"  {k} accuracy: {v:.4f}" for k, v in p["accuracy"].items()) if "accuracy" in p else ""))


def _compare(embedder: Any, exported: Any, pairs_set: Any, progress: bool) -> dict[str, float]:
    """Best accuracy on ``pairs_set`` of the Keras model and of the export, on the same aligned faces."""
    from siamese.evaluation import best_threshold
    from siamese.model_dir import pairwise_distance_np
    from siamese.verification import pair_faces

    pf = pair_faces(embedder.aligner, pairs_set, progress=progress)
    same = [int(s) for s, ok in zip(pairs_set.same, pf.ok, strict=True) if ok]
    out = {}
    for name, emb in (("keras", embedder.embed_faces(pf.faces)), ("exported", exported(pf.faces))):
        d = pairwise_distance_np(emb[pf.ia], emb[pf.ib], embedder.model_dir.distance)
        out[name] = float(best_threshold(d, same)[1])
    return out


@handle_errors
def verify(
    image_a: Path = typer.Argument(..., help="First photo."),
    image_b: Path | None = typer.Argument(None, help="Second photo (or use --claim NAME with a gallery)."),
    claim: str | None = typer.Option(None, "--claim", help="Verify IMAGE_A against this enrolled identity."),
    model: Path | None = MODEL_OPT,
    gallery: str | None = typer.Option(None, "--gallery", "-g", help="Gallery dir or Milvus address (default: "
                                       "$SIAMESE_GALLERY)."),
    threshold: float | None = typer.Option(None, "--threshold", help="Distance threshold (default: calibrated)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Is it the same person? Exit 0 = same, 1 = different, 2 = error."""
    if (image_b is None) == (claim is None):
        fail("give either IMAGE_B or --claim NAME (not both)")
    if claim is not None:
        from siamese.cli.gallery_cmd import verify_claim

        result = verify_claim(image_a, claim, model, gallery, threshold)
    else:
        from siamese.verification import Verifier

        result = Verifier(_model_dir(model), threshold=threshold).verify(image_a, image_b).to_dict()
        result.update(image_a=str(image_a), image_b=str(image_b))
    emit(result, as_json, lambda r: f"{'same person' if r['same'] else 'different people'} "
         f"(distance {r['distance']:.4f}, threshold {r['threshold']:.4f})")
    raise typer.Exit(0 if result["same"] else 1)


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate)
    app.command("calibrate")(calibrate)
    app.command("export")(export)
    app.command("verify")(verify)
