"""Gallery throughput: identify (FaceGallery.search vs raw FAISS on the SAME index) and enrolment.

Builds a gallery of ``--n`` random unit vectors (``--per-identity`` templates per identity) in a
temporary directory, then measures, in one run:

* bulk enrolment: ``add_many`` in chunks inside ``batch()`` (templates/s, includes SQLite
  commits and the final index write);
* single enrolments: ``add`` of one identity per transaction inside ``batch()`` (fsync'd commit
  each), and outside ``batch()`` (each also rewrites the whole index file);
* open time of the built gallery;
* identify: ``--queries`` queries, ``k``; raw ``index.search`` vs ``FaceGallery.search`` by
  template and by identity, interleaved, median of ``--repeats``;
* one ``remove`` (VACUUM + index rewrite).

Prints a Markdown section to stdout (progress on stderr), to append to benchmarks/RESULTS.md::

    python benchmarks/bench_gallery.py >> benchmarks/RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from siamese.index import FaceGallery  # noqa: E402


def log(msg: str) -> None:
    print(f"[bench_gallery] {msg}", file=sys.stderr, flush=True)


def unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


class _Replay:
    """Stands in for the backend and returns a precomputed answer (to time the wrapper alone)."""

    def __init__(self, backend, answer) -> None:
        self._backend, self._answer = backend, answer

    def search(self, queries, k):
        return self._answer

    def __getattr__(self, name):
        return getattr(self._backend, name)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1_000_000, help="templates in the gallery")
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--per-identity", type=int, default=5)
    p.add_argument("--chunk", type=int, default=50_000, help="templates per add_many transaction")
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--singles", type=int, default=200, help="single add() calls inside batch()")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="FAISS OpenMP threads (0: FAISS default)")
    p.add_argument("--dir", type=Path, default=None, help="parent of the temporary gallery")
    p.add_argument("--machine", default="2-core CPU dev box (CI-like)")
    p.add_argument("--date", default="2026-11-23")
    args = p.parse_args()

    if args.threads:
        faiss.omp_set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    per = args.per_identity
    with tempfile.TemporaryDirectory(prefix="bench_gallery_", dir=args.dir) as tmp:
        directory = Path(tmp) / "gallery"
        gallery = FaceGallery.create(directory, "bench-model", args.dim)
        # -- bulk enrolment ---------------------------------------------------------------------
        identities = args.n // per
        per_chunk = max(1, args.chunk // per)
        t0 = time.perf_counter()
        with gallery.batch():
            for start in range(0, identities, per_chunk):
                count = min(per_chunk, identities - start)
                vectors = unit(rng, count * per, args.dim).reshape(count, per, args.dim)
                gallery.add_many([(f"id{start + j:07d}", vectors[j]) for j in range(count)])
                log(f"enrolled {start + count}/{identities} identities, {time.perf_counter() - t0:.1f} s")
        bulk_s = time.perf_counter() - t0
        n_total = identities * per
        # -- single enrolments --------------------------------------------------------------------
        t0 = time.perf_counter()
        with gallery.batch():
            for j in range(args.singles):
                gallery.add(f"single{j:05d}", unit(rng, per, args.dim))
        singles_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        autosave = 3
        for j in range(autosave):
            gallery.add(f"autosave{j}", unit(rng, per, args.dim))
        autosave_s = (time.perf_counter() - t0) / autosave
        info = gallery.info()
        gallery.close()
        log(f"bulk {bulk_s:.1f} s, singles {singles_s:.1f} s, autosave add {autosave_s:.2f} s")
        # -- open ------------------------------------------------------------------------------
        t0 = time.perf_counter()
        gallery = FaceGallery.open(directory, "bench-model")
        open_s = time.perf_counter() - t0
        assert not gallery.recovered
        # -- identify --------------------------------------------------------------------------
        queries = unit(rng, args.queries, args.dim)
        index = gallery.backend.index  # the very index FaceGallery searches
        timings: dict[str, list[float]] = {"raw": [], "template": [], "identity": []}
        raw_ids = None
        for rep in range(args.repeats):
            t0 = time.perf_counter()
            _, raw_ids = index.search(queries, args.k)
            timings["raw"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            by_template = gallery.search(queries, k=args.k, by="template")
            timings["template"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            by_identity = gallery.search(queries, k=args.k, by="identity")
            timings["identity"].append(time.perf_counter() - t0)
            log(f"repeat {rep}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in timings.items()))
        assert [[m.template_id for m in row] for row in by_template] == raw_ids.tolist()
        assert all(len(row) == args.k for row in by_identity)
        median = {k: statistics.median(v) for k, v in timings.items()}
        # per-repeat ratios of interleaved runs: robust to load that drifts during the run
        paired = {k: statistics.median(r / x for r, x in zip(timings["raw"], v, strict=True))
                  for k, v in timings.items()}
        # Wrapper cost alone (validation, refresh, id->name lookup, Match objects): replay the
        # backend's answers so that FAISS time and CPU contention drop out of this figure.
        overhead = {}
        for by in ("template", "identity"):
            fetch = args.k if by == "template" else args.k * per
            answer = gallery.backend.search(queries, fetch)
            real = gallery._backend
            gallery._backend = _Replay(real, answer)
            try:
                t0 = time.perf_counter()
                for _ in range(5):
                    gallery.search(queries, k=args.k, by=by)
                overhead[by] = (time.perf_counter() - t0) / 5
            finally:
                gallery._backend = real
        qps = {k: args.queries / v for k, v in median.items()}
        # -- remove ----------------------------------------------------------------------------
        t0 = time.perf_counter()
        gallery.remove("id0000000")
        remove_s = time.perf_counter() - t0
        gallery.close()

    command = "python " + " ".join(shlex.quote(a) for a in ["benchmarks/bench_gallery.py", *sys.argv[1:]])
    mb = 1 << 20
    index_mb = info["files"]["index.faiss"] / mb
    rows = [
        ("raw FAISS `index.search` (same index)", "raw"),
        ('`FaceGallery.search(by="template")`', "template"),
        ('`FaceGallery.search(by="identity")`', "identity"),
    ]
    lines = [
        "",
        f"## Gallery storage (`siamese.index.FaceGallery`, flat index) — {args.date}",
        "",
        f"Machine: {args.machine}. Command: `{command}`",
        f"Gallery: {n_total:,} random unit vectors, dim {args.dim}, {identities:,} identities x {per} "
        f"templates, `IndexIDMap2(IndexFlatIP)`, FAISS threads {faiss.omp_get_max_threads()}; files: "
        f"gallery.db {info['files']['gallery.db'] / mb:.0f} MiB, index.faiss {index_mb:.0f} MiB.",
        "",
        f"| identify, {args.queries} queries, k={args.k} (median of {args.repeats}) "
        "| seconds | queries/s | vs raw FAISS (median of paired ratios) |",
        "|---|---|---|---|",
        *(f"| {label} | {median[key]:.3f} | {qps[key]:.0f} | {paired[key]:.2f}x |" for label, key in rows),
        "",
        "Per-repeat seconds: " + "; ".join(
            f"{key} " + ", ".join(f"{t:.3f}" for t in timings[key]) for _, key in rows) + ".",
        "",
        "Wrapper cost alone (backend answers replayed, so FAISS time and CPU contention drop out): "
        + ", ".join(f'`by="{by}"` {sec * 1e3:.1f} ms per batch' for by, sec in overhead.items())
        + "; with the median raw FAISS time that puts the ratio at "
        + ", ".join(f"{median['raw'] / (median['raw'] + sec):.3f}x" for sec in overhead.values())
        + ". The measured ratios above also carry run-to-run noise (shared 2-core box).",
        "",
        "| storage operation | figure |",
        "|---|---|",
        f"| bulk enrolment: `add_many`, {args.chunk:,}-template transactions, in `batch()` "
        f"| {n_total / bulk_s:,.0f} templates/s ({bulk_s:.1f} s) |",
        f"| single `add` ({per} templates, one fsync'd transaction each) in `batch()` "
        f"| {args.singles * per / singles_s:,.0f} templates/s ({singles_s / args.singles * 1e3:.1f} ms/add) |",
        f"| single `add` outside `batch()` (also rewrites the {index_mb:.0f} MiB index file) "
        f"| {autosave_s:.2f} s/add |",
        f"| `FaceGallery.open` (index file current: checksum + load + name lookup) | {open_s:.2f} s |",
        f"| `remove` of one identity (secure delete + VACUUM + index rewrite) | {remove_s:.2f} s |",
        "",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
