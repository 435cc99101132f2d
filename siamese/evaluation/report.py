"""Evaluation report: ``report.json`` plus ROC, DET and distance-histogram PNGs.

Matplotlib is imported lazily and drawn through the Agg canvas directly (no global backend
switch, no display needed).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from siamese._files import atomic_write_bytes
from siamese.evaluation.metrics import check_pairs, operating_points
from siamese.evaluation.result import EvaluationResult


def new_figure(width: float = 5.0, height: float = 4.0) -> tuple[Any, Any]:
    """A matplotlib figure (Agg canvas, no display) and its one axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def save_png(fig: Any, path: Path) -> Path:
    """Write ``fig`` as a PNG crash-safely (mode 0644: figures only)."""
    import io

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    return atomic_write_bytes(path, buffer.getvalue(), mode=0o644)


def roc_axes(ax: Any, n_impostor: int, title: str, legend_size: int = 8, columns: int = 1) -> None:
    """The ROC plot's frame: log FAR axis down to one impostor pair, TAR 0..1, labels, grid, legend."""
    ax.set_xscale("log")
    ax.set_xlim(min(1.0 / max(n_impostor, 1), 1e-3) / 2, 1.0)
    ax.set_ylim(0.0, 1.01)
    ax.set_xlabel("FAR (false accept rate)")
    ax.set_ylabel("TAR (true accept rate)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=legend_size, ncol=columns)


def _roc_png(result: EvaluationResult, far: np.ndarray, tar: np.ndarray, path: Path) -> Path:
    fig, ax = new_figure()
    keep = far > 0  # log axis: FAR 0 cannot be drawn
    ax.step(far[keep], tar[keep], where="post", label=f"ROC (AUC {result.roc_auc:.4f})")
    for entry in result.tar_at_far.values():
        if entry["far"] > 0:
            ax.plot(entry["far"], entry["tar"], "o",
                    label=f"TAR {entry['tar']:.3f} @ FAR<={entry['target_far']:g}")
    roc_axes(ax, result.n_impostor, f"ROC: {result.n_genuine} genuine, {result.n_impostor} impostor pairs")
    return save_png(fig, path)


def _det_png(result: EvaluationResult, distances: np.ndarray, same: np.ndarray, path: Path) -> Path:
    from sklearn.metrics import DetCurveDisplay, det_curve

    fig, ax = new_figure()
    fpr, fnr, _ = det_curve(same, -distances)
    DetCurveDisplay(fpr=fpr, fnr=fnr).plot(ax=ax, name=f"EER {result.eer:.4f}")
    ax.plot([-3, 3], [-3, 3], ":", color="grey", linewidth=0.8)  # FAR == FRR
    if 0.0 < result.eer < 1.0:
        z = NormalDist().inv_cdf(result.eer)
        ax.plot(z, z, "o", label="EER point")
    ax.set_xlabel("FAR (false accept rate)")
    ax.set_ylabel("FRR (false reject rate)")
    ax.set_title("DET (normal-deviate axes)")
    ax.legend(loc="upper right", fontsize=8)
    return save_png(fig, path)


def _distances_png(distances: np.ndarray, same: np.ndarray, threshold: float, path: Path) -> Path:
    fig, ax = new_figure(6.0, 4.0)
    bins = np.histogram_bin_edges(distances, bins=min(100, max(10, distances.size // 20)))
    ax.hist(distances[same], bins=bins, density=True, alpha=0.6, label=f"genuine ({same.sum()})")
    ax.hist(distances[~same], bins=bins, density=True, alpha=0.6, label=f"impostor ({(~same).sum()})")
    ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.4g}")
    ax.set_xlabel("distance (accept when <= threshold)")
    ax.set_ylabel("density")
    ax.set_title("Pair distances")
    ax.legend(fontsize=8)
    return save_png(fig, path)


def write_report(
    result: EvaluationResult,
    distances: ArrayLike,
    same: ArrayLike,
    out_dir: str | os.PathLike[str],
    *,
    threshold: float | None = None,
) -> dict[str, Path]:
    """Write ``report.json`` (``result.to_dict()``), ``roc.png`` (TAR vs FAR, log FAR),
    ``det.png`` (FRR vs FAR, normal-deviate axes) and ``distances.png`` (genuine and impostor
    histograms with ``threshold``, default ``result.best_threshold``) into ``out_dir``.

    Returns ``{"report": ..., "roc": ..., "det": ..., "distances": ...}`` paths. Files are
    written atomically, mode 0644 (figures only, no biometric data).
    Raises ValueError when ``distances`` do not match ``result`` (pair count).
    """
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        from siamese.errors import ConfigError

        raise ConfigError("--report: the plots need matplotlib: pip install 'siamese[report]'")
    d, s = check_pairs(distances, same)
    if d.size != result.n_pairs or int(s.sum()) != result.n_genuine:
        raise ValueError(
            f"distances ({d.size} pairs, {int(s.sum())} genuine) do not match the result "
            f"({result.n_pairs} pairs, {result.n_genuine} genuine)"
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result.to_dict(), indent=2, sort_keys=True, allow_nan=False) + "\n"
    points = operating_points(d, s)
    line = result.best_threshold if threshold is None else float(threshold)
    return {
        "report": atomic_write_bytes(out / "report.json", text.encode("utf-8"), mode=0o644),
        "roc": _roc_png(result, points.far, points.tar, out / "roc.png"),
        "det": _det_png(result, d, s, out / "det.png"),
        "distances": _distances_png(d, s, line, out / "distances.png"),
    }
