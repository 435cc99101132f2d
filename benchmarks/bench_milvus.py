"""Milvus gallery (milvus-lite, embedded) vs raw FAISS ``IndexFlatIP`` on the same vectors, in one run.

Builds a milvus-lite gallery of ``--n`` random unit vectors (dim ``--dim``, ``--per-identity``
templates per identity, FLAT index) in a temporary directory and measures:

* enrolment: ``MilvusGallery.add_many`` in chunks of ``--chunk`` templates inside ``batch()``
  (templates/s; the time to close = flush to parquet files is included);
* open + load: the first search of a session (starts the embedded server, loads the segments);
* identify: ``--queries`` queries, k=5: raw ``faiss.IndexFlatIP.search`` vs ``MilvusGallery.search``
  by template and by identity (Milvus grouping), interleaved, median of ``--repeats``; the ratio is
  FAISS time / Milvus time (1.0 = as fast as FAISS);
* per-call overhead: one 1-query search (gRPC round trip + Python, no real compute);
* exactness: top-1 template of every query identical to brute force (numpy float64).

Prints a Markdown section to stdout (progress on stderr)::

    python benchmarks/bench_milvus.py --n 100000
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


def log(msg: str) -> None:
    print(f"[bench_milvus] {msg}", file=sys.stderr, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="templates in the gallery")
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--per-identity", type=int, default=5)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--chunk", type=int, default=50_000, help="templates per add_many call")
    ap.add_argument("--threads", type=int, default=1, help="BLAS/FAISS threads (both sides)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--index", default="flat", choices=["flat", "hnsw"], help="Milvus index kind (FAISS stays flat)")
    args = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    import faiss
    import numpy as np

    from siamese.index import create_gallery, open_gallery

    faiss.omp_set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    data = rng.standard_normal((args.n, args.dim), dtype=np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    queries = rng.standard_normal((args.queries, args.dim), dtype=np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    per = args.per_identity
    names = [f"id{i:07d}" for i in range((args.n + per - 1) // per)]

    with tempfile.TemporaryDirectory(prefix="bench_milvus.") as tmp:
        address = str(Path(tmp) / "gallery.db")
        gallery = create_gallery(address, "bench", args.dim, index=args.index)
        ids = np.empty(args.n, np.int64)
        log(f"enrolling {args.n} templates")
        t0 = time.perf_counter()
        with gallery.batch():
            for start in range(0, args.n, args.chunk):
                stop = min(args.n, start + args.chunk)
                entries = [(names[i // per], data[i:min(stop, (i // per + 1) * per)])
                           for i in range(start, stop) if i == start or i % per == 0]
                got = gallery.add_many(entries)
                ids[start:stop] = np.concatenate([np.asarray(g, np.int64) for g in got])
        enrol_s = time.perf_counter() - t0
        gallery.close()
        size = sum(p.stat().st_size for p in Path(address).rglob("*") if p.is_file())
        log(f"enrolled in {enrol_s:.1f} s; {size / 2**20:.0f} MiB on disk")

        index = faiss.IndexFlatIP(args.dim)
        index.add(data)
        gallery = open_gallery(address, "bench", read_only=True)
        with gallery.session():
            t0 = time.perf_counter()
            gallery.search(queries[:1], k=1)
            load_s = time.perf_counter() - t0
            one = []
            for _ in range(max(5, args.repeats)):
                t0 = time.perf_counter()
                gallery.search(queries[:1], k=5)
                one.append(time.perf_counter() - t0)
            raw_t, tmpl_t, ident_t, ratios_t, ratios_i = [], [], [], [], []
            for r in range(args.repeats):
                t0 = time.perf_counter()
                _, labels = index.search(queries, 5)
                raw = time.perf_counter() - t0
                t0 = time.perf_counter()
                hits = gallery.search(queries, k=5, by="template")
                tmpl = time.perf_counter() - t0
                t0 = time.perf_counter()
                gallery.search(queries, k=5, by="identity")
                ident = time.perf_counter() - t0
                raw_t.append(raw)
                tmpl_t.append(tmpl)
                ident_t.append(ident)
                ratios_t.append(raw / tmpl)
                ratios_i.append(raw / ident)
                log(f"repeat {r}: faiss {raw:.3f} s, template {tmpl:.3f} s, identity {ident:.3f} s")
        gallery.close()

        exact = data.astype(np.float64) @ queries.astype(np.float64).T
        truth = ids[np.argmax(exact, axis=0)]
        milvus_top1 = np.array([h[0].template_id for h in hits])
        faiss_top1 = ids[labels[:, 0]]
        same_milvus = int((milvus_top1 == truth).sum())
        same_faiss = int((faiss_top1 == truth).sum())

    med = statistics.median
    cmd = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    print(f"\n## Milvus gallery (`siamese.index.MilvusGallery`, milvus-lite, {args.index}) vs raw FAISS flat\n")
    print(f"Command: `{cmd}`. {args.n:,} random unit vectors, dim {args.dim}, {len(names):,} identities x {per} "
          f"templates; BLAS/FAISS threads {args.threads}; milvus-lite files {size / 2**20:.0f} MiB.\n")
    print(f"| identify, {args.queries} queries, k=5 (median of {args.repeats}) | seconds | queries/s "
          "| vs raw FAISS (median of paired ratios) |")
    print("|---|---|---|---|")
    print(f"| raw FAISS `IndexFlatIP.search` | {med(raw_t):.3f} | {args.queries / med(raw_t):,.0f} | 1.00x |")
    print(f"| `MilvusGallery.search(by=\"template\")` | {med(tmpl_t):.3f} | {args.queries / med(tmpl_t):,.0f} "
          f"| {med(ratios_t):.2f}x |")
    print(f"| `MilvusGallery.search(by=\"identity\")` (group by name) | {med(ident_t):.3f} | "
          f"{args.queries / med(ident_t):,.0f} | {med(ratios_i):.2f}x |\n")
    print("| other figure | value |")
    print("|---|---|")
    print(f"| enrolment: `add_many` of {args.chunk:,} templates per call in `batch()` (incl. flush on close) "
          f"| {args.n / enrol_s:,.0f} templates/s ({enrol_s:.1f} s) |")
    print(f"| first search of a session (start embedded server + load segments) | {load_s:.2f} s |")
    print(f"| one 1-query search (per-call overhead: gRPC + Python) | {med(one) * 1000:.1f} ms |")
    print(f"| top-1 identical to brute force (numpy float64) | Milvus {same_milvus}/{args.queries}, "
          f"FAISS {same_faiss}/{args.queries} |")


if __name__ == "__main__":
    main()
