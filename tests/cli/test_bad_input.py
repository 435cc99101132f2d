"""The bad-input suite: the installed command, in a new process, on hostile or broken input.

Every case must: exit 2, print EXACTLY one line on stderr naming the file or key and the reason, never a
traceback, leave every file of the model / gallery directories it touched unchanged, and create nothing it was
asked to create. Cases run in subprocesses (each imports TensorFlow: ~6 s), two at a time; a group's failures are
collected and reported together so that one failure does not hide the others.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from siamese.model_dir import CALIBRATION_FILE, CARD_FILE, EMBEDDING_FILE, TFLITE_FILE, ModelDir

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 60  # seconds per subprocess: a FIFO or /dev/zero must never hang the command
WORKERS = 2
MEMORY_LIMIT = 4 << 30  # bytes of data segment per subprocess (TensorFlow and the smoke model need under 1 GiB)


@dataclass
class Case:
    """One bad input. ``expect``: substrings the stderr line must contain (the file or key, and the reason)."""

    name: str
    args: list[str]
    expect: list[str]
    protect: list[Path] = field(default_factory=list)   # directories whose files must not change
    absent: list[Path] = field(default_factory=list)    # paths that must not exist afterwards
    forbid: list[str] = field(default_factory=list)     # substrings the line must NOT contain
    lines: int | None = 1                               # None: one line per skipped file is fine
    inproc: bool = False  # an extra kind checked in-process (CliRunner) to keep the suite's wall time low


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("SIAMESE_DEBUG", None)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def _snapshot(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (names of folders too); {} when it does not exist."""
    if not folder.exists():
        return {}
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        out[rel] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
    return out


def _invoke(case: Case) -> tuple[int, str] | str:
    """(exit code, stderr) of the command, or a description of why there is none."""
    if case.inproc:
        from typer.testing import CliRunner

        from siamese.cli.app import app

        result = CliRunner().invoke(app, case.args)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            return f"{case.name}: raised {type(result.exception).__name__}: {result.exception}"
        return result.exit_code, result.stderr
    cmd = [sys.executable, "-m", "siamese.cli.app", *case.args]  # app.py calls main() under __main__
    if shutil.which("prlimit"):  # a command that reads /dev/zero to the end must not take the shared machine down
        cmd = ["prlimit", f"--data={MEMORY_LIMIT}", *cmd]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=TIMEOUT, env=_env(),
                              stdin=subprocess.DEVNULL, cwd=REPO)
    except subprocess.TimeoutExpired:
        return f"{case.name}: hung (killed after {TIMEOUT} s)"
    return proc.returncode, proc.stderr


def _run(case: Case) -> str | None:
    """Run one case; None when it behaved, else a readable description of what went wrong."""
    before = {str(p): _snapshot(p) for p in case.protect}
    outcome = _invoke(case)
    if isinstance(outcome, str):
        return outcome
    code, stderr = outcome
    problems = []
    lines = [line for line in stderr.splitlines() if line.strip()]
    if code != 2:
        problems.append(f"exit {code}, expected 2")
    if "Traceback" in stderr:
        problems.append("traceback on stderr")
    if case.lines is not None and len(lines) != case.lines:
        problems.append(f"{len(lines)} stderr lines, expected {case.lines}")
    text = "\n".join(lines)
    missing = [s for s in case.expect if s not in text]
    if missing:
        problems.append(f"stderr does not name {missing}")
    present = [s for s in case.forbid if s in text]
    if present:
        problems.append(f"stderr says {present}")
    for p in case.protect:
        if _snapshot(p) != before[str(p)]:
            problems.append(f"{p} changed")
    for p in case.absent:
        if os.path.lexists(p):
            problems.append(f"{p} was created")
    if not problems:
        return None
    shown = stderr if len(stderr) < 1500 else stderr[:700] + " [...] " + stderr[-700:]
    return f"{case.name}: {'; '.join(problems)}\n    stderr: {shown.strip()!r}"


def _check_all(cases: list[Case]) -> None:
    names = [c.name for c in cases]
    assert len(set(names)) == len(names), "case names must be unique"
    failures = [f for f in map(_run, [c for c in cases if c.inproc]) if f is not None]
    with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as pool:
        failures += [f for f in pool.map(_run, [c for c in cases if not c.inproc]) if f is not None]
    assert not failures, f"{len(failures)} of {len(cases)} cases misbehaved:\n" + "\n".join(failures)


# --- inputs --------------------------------------------------------------------------------------------------
def _png(width: int, height: int, idat: bytes = b"") -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat or zlib.compress(b"\0" * 64)) \
        + chunk(b"IEND", b"")


def _encode(image: np.ndarray, ext: str) -> bytes:
    import cv2

    ok, buf = cv2.imencode(ext, image)
    assert ok
    return buf.tobytes()


@pytest.fixture(scope="module")
def model(smoke_model) -> Path:
    return smoke_model[0]


@pytest.fixture(scope="module")
def good(orl_root: Path) -> Path:
    return orl_root / "s1" / "1.pgm"


@pytest.fixture(scope="module")
def gallery(model: Path, orl_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A gallery with two people, bound to the smoke model."""
    from siamese import api

    path = tmp_path_factory.mktemp("bad_gallery") / "gallery"
    api.enroll_many({"alice": [orl_root / "s1" / "1.pgm"], "bob": [orl_root / "s2" / "1.pgm"]}, gallery=path,
                    model=model)
    return path


@pytest.fixture(scope="module")
def other_model(model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Same architecture and card as the smoke model, other (fresh) weights, same calibration."""
    import keras

    from siamese.models import get_tower

    keras.utils.set_random_seed(1)
    card = {k: v for k, v in ModelDir(model).card.items() if k != "fingerprint"}
    path = tmp_path_factory.mktemp("other") / "model"
    ModelDir.write(path, get_tower("small_cnn", input_shape=(64, 64, 3), embedding_dim=64, width=16, blocks=3), card)
    shutil.copy(model / CALIBRATION_FILE, path / CALIBRATION_FILE)
    return path


# --- image files ---------------------------------------------------------------------------------------------
def _image_cases(tmp: Path, model: Path, good: Path) -> list[Case]:
    rng = np.random.default_rng(0)
    face = np.asarray(__import__("cv2").imread(str(good)))
    files: dict[str, Path] = {}

    def make(name: str, data: bytes) -> Path:
        files[name] = tmp / name
        files[name].write_bytes(data)
        return files[name]

    make("empty.jpg", b"")
    make("text.jpg", b"just some text, not a photo\n")
    make("truncated.jpg", _encode(face, ".jpg")[:600])
    make("truncated.png", _encode(face, ".png")[:300])
    make("bomb.png", _png(100_000, 100_000))
    make("wrongext.png", b"GIF89a" + b"\0" * 20)
    make("one_pixel.png", _encode(np.full((1, 1, 3), 128, np.uint8), ".png"))
    make("grey.png", _encode(np.full((200, 200, 3), 128, np.uint8), ".png"))
    make("noise.png", _encode(rng.integers(0, 256, (200, 200, 3), dtype=np.uint8), ".png"))
    (tmp / "adir.jpg").mkdir()
    os.mkfifo(tmp / "fifo.jpg")
    (tmp / "loop_a.jpg").symlink_to(tmp / "loop_b.jpg")
    (tmp / "loop_b.jpg").symlink_to(tmp / "loop_a.jpg")
    (tmp / "dangling.jpg").symlink_to(tmp / "nowhere.jpg")

    def verify(name: str, path: Path, reason: list[str], inproc: bool = False, extra: tuple[str, ...] = ()) -> Case:
        return Case(f"image:{name}", ["verify", str(good), str(path), "--model", str(model), "--threshold", "1",
                                      *extra], [str(path), *reason], protect=[model], inproc=inproc)

    cases = [
        verify("missing", tmp / "missing.jpg", ["no such file"]),
        verify("empty", tmp / "empty.jpg", ["empty"]),
        verify("text named .jpg", tmp / "text.jpg", []),
        verify("truncated JPEG", tmp / "truncated.jpg", ["truncated"]),
        verify("truncated PNG", tmp / "truncated.png", ["truncated"], inproc=True),
        verify("GIF named .png", tmp / "wrongext.png", [], inproc=True),
        verify("decompression bomb", tmp / "bomb.png", ["100000"]),
        verify("directory", tmp / "adir.jpg", ["directory"]),
        verify("symlink loop", tmp / "loop_a.jpg", []),
        verify("dangling symlink", tmp / "dangling.jpg", [], inproc=True),
        verify("FIFO", tmp / "fifo.jpg", ["not a regular file"]),
        verify("/dev/zero", Path("/dev/zero"), ["not a regular file"]),
        verify("1x1 image", tmp / "one_pixel.png", ["no face"]),
        verify("flat grey image", tmp / "grey.png", ["no face"]),
        verify("noise image (--check-face)", tmp / "noise.png", ["no face"], extra=("--check-face",)),
    ]
    if os.geteuid() != 0:  # root reads a chmod 000 file anyway
        unreadable = make("unreadable.jpg", _encode(face, ".jpg"))
        unreadable.chmod(0)
        cases.append(verify("unreadable (chmod 000)", unreadable, ["ermission"]))
    return cases


@pytest.fixture(scope="module")
def image_cases(model: Path, good: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Case]:
    return _image_cases(tmp_path_factory.mktemp("images"), model, good)


def test_bad_image_files(image_cases: list[Case]) -> None:
    _check_all(image_cases)


# --- model directories ---------------------------------------------------------------------------------------
def _model_cases(tmp: Path, model: Path, other_model: Path, good: Path) -> list[Case]:
    def broken(name: str) -> Path:
        path = tmp / name
        shutil.copytree(model, path)
        return path

    def card(path: Path, **changes: object) -> None:
        data = json.loads((path / CARD_FILE).read_text())
        for k, v in changes.items():
            if v is None:
                data.pop(k, None)
            else:
                data[k] = v
        (path / CARD_FILE).write_text(json.dumps(data))

    no_card = broken("no_card")
    (no_card / CARD_FILE).unlink()
    no_fp = broken("no_fingerprint")
    card(no_fp, fingerprint=None)
    not_json = broken("card_not_json")
    (not_json / CARD_FILE).write_text("{ this is not json")
    size_abc = broken("input_size_abc")
    card(size_abc, input_size="abc")
    dim0 = broken("embedding_dim_0")
    card(dim0, embedding_dim=0)
    dist = broken("distance_bogus")
    card(dist, distance="manhattan")
    garbage = broken("garbage_keras")
    (garbage / EMBEDDING_FILE).write_bytes(b"definitely not a zip archive" * 10)
    replaced = broken("weights_replaced")
    shutil.copy(other_model / EMBEDDING_FILE, replaced / EMBEDDING_FILE)
    nan_weights = broken("nan_weights")
    tower = ModelDir(model).embedding_model()
    import keras

    clone = keras.models.clone_model(tower)
    clone.set_weights([np.full_like(w, np.nan) if i == 0 else w for i, w in enumerate(tower.get_weights())])
    (nan_weights / EMBEDDING_FILE).unlink()
    clone.save(nan_weights / EMBEDDING_FILE)
    tflite_replaced = broken("tflite_replaced")
    shutil.copy(other_model / TFLITE_FILE, tflite_replaced / TFLITE_FILE)
    cal_abc = broken("calibration_abc")
    (cal_abc / CALIBRATION_FILE).write_text(json.dumps({"threshold": "abc"}))
    cal_nan = broken("calibration_nan")
    (cal_nan / CALIBRATION_FILE).write_text('{"threshold": NaN, "far": 0.001}')
    cal_bad = broken("calibration_not_json")
    (cal_bad / CALIBRATION_FILE).write_text("threshold = 0.5")
    a_file = tmp / "model_is_a_file"
    a_file.write_text("x")

    def verify(name: str, path: Path, expect: list[str], threshold: str | None = "1", engine: str | None = None,
               **kw: Any) -> Case:
        # each engine checks the file it runs: --engine keras loads embedding.keras, the default runs
        # embedding.tflite (bound to the same weights fingerprint by its sha256 in the card)
        args = (["--engine", engine] if engine else []) + ["verify", str(good), str(good), "--model", str(path)]
        if threshold is not None:
            args += ["--threshold", threshold]
        protect = [path] if path.is_dir() else []
        return Case(f"model:{name}", args, expect, protect=protect, **kw)

    return [
        verify("missing dir", tmp / "nowhere", [str(tmp / "nowhere"), "not found"]),
        verify("a file, not a dir", a_file, [str(a_file)], inproc=True),
        verify("no model.json", no_card, [str(no_card), CARD_FILE]),
        verify("no fingerprint", no_fp, [str(no_fp / CARD_FILE), "fingerprint"]),
        verify("model.json not JSON", not_json, [str(not_json / CARD_FILE), "JSON"]),
        verify("input_size abc", size_abc, [str(size_abc / CARD_FILE), "input_size"]),
        verify("embedding_dim 0", dim0, [str(dim0 / CARD_FILE), "embedding_dim"], inproc=True),
        verify("unknown distance", dist, [str(dist / CARD_FILE), "distance", "manhattan"], inproc=True),
        verify("garbage embedding.keras", garbage, [str(garbage / EMBEDDING_FILE), "not a valid .keras"],
               engine="keras", forbid=["File not found", "file not found"]),
        verify("weights of another model", replaced, [str(replaced / EMBEDDING_FILE), "fingerprint"], engine="keras"),
        verify("NaN weights", nan_weights, [str(nan_weights / EMBEDDING_FILE), "NaN"], engine="keras"),
        verify("embedding.tflite of another model", tflite_replaced, [str(tflite_replaced / TFLITE_FILE), "sha256"]),
        verify("calibration threshold abc", cal_abc, [str(cal_abc / CALIBRATION_FILE), "threshold"], threshold=None),
        verify("calibration threshold NaN", cal_nan, [str(cal_nan / CALIBRATION_FILE), "threshold"], threshold=None),
        verify("calibration not JSON", cal_bad, [str(cal_bad / CALIBRATION_FILE), "calibration"], threshold=None,
               inproc=True),
        verify("--threshold nan", model, ["--threshold", "finite"], threshold="nan"),
        verify("--threshold inf", model, ["--threshold", "finite"], threshold="inf", inproc=True),
    ]


def test_bad_model_dirs(model: Path, other_model: Path, good: Path, tmp_path: Path) -> None:
    _check_all(_model_cases(tmp_path, model, other_model, good))


# --- galleries and enrolment ---------------------------------------------------------------------------------
BAD_NAMES = {"blank": "   ", "padded": " alice", "control char": "al\x07ice", "10000 chars": "x" * 10_000}
MORE_BAD_NAMES = {"empty": "", "trailing space": "alice ", "tab": "al\tice", "newline": "al\nice",
                  "zero width": "al\u200bice"}


def _gallery_cases(tmp: Path, model: Path, other_model: Path, gallery: Path, good: Path) -> list[Case]:
    cases = []
    for label, name in [*BAD_NAMES.items(), *MORE_BAD_NAMES.items()]:
        new = tmp / f"new_{len(cases)}"
        expect = ["NAME"] if name == "" else ["identity name"]
        cases.append(Case(f"enroll: name {label}", ["enroll", name, str(good), "--model", str(model), "--gallery",
                                                     str(new)], expect, protect=[model], absent=[new],
                          forbid=["x" * 500], inproc=label in MORE_BAD_NAMES))
    bad1, bad2 = tmp / "bad1.jpg", tmp / "bad2.png"
    bad1.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    bad2.write_bytes(b"")
    new = tmp / "all_bad"
    cases.append(Case("enroll: every photo bad", ["enroll", "carol", str(bad1), str(bad2), "--model", str(model),
                                                  "--gallery", str(new)],
                      [str(bad1), str(bad2), "carol"], protect=[model], absent=[new], lines=None))
    cases += [
        Case("enroll: gallery bound to another model",
             ["enroll", "carol", str(good), "--model", str(other_model), "--gallery", str(gallery)],
             [str(gallery), "bound to model"], protect=[gallery, other_model]),
        Case("verify --claim unknown identity",
             ["verify", str(good), "--claim", "nobody", "--model", str(model), "--gallery", str(gallery)],
             ["nobody"], protect=[gallery, model]),
        Case("gallery remove unknown identity", ["gallery", "remove", "nobody", "--gallery", str(gallery)],
             ["nobody", "unknown identity"], protect=[gallery]),
        Case("enroll --index bogus",
             ["enroll", "dave", str(good), "--model", str(model), "--gallery", str(tmp / "idx"), "--index", "bogus"],
             ["bogus"], protect=[model], absent=[tmp / "idx"]),
        Case("identify: no gallery there",
             ["identify", str(good), "--model", str(model), "--gallery", str(tmp / "none")],
             [str(tmp / "none")], protect=[model], absent=[tmp / "none"], inproc=True),
        Case("identify: missing probe", ["identify", str(tmp / "missing.jpg"), "--model", str(model),
                                         "--gallery", str(gallery), "--threshold", "1"],
             [str(tmp / "missing.jpg"), "no such file"], protect=[model, gallery], inproc=True),
        Case("gallery list: a file, not a gallery", ["gallery", "list", "--gallery", str(bad1)], [str(bad1)],
             inproc=True),
        Case("enroll --from-dir missing", ["enroll", "--from-dir", str(tmp / "nodir"), "--model", str(model),
                                           "--gallery", str(tmp / "fd")], [str(tmp / "nodir")],
             absent=[tmp / "fd"], inproc=True),
    ]
    return cases


def test_bad_gallery_input(model: Path, other_model: Path, gallery: Path, good: Path, tmp_path: Path) -> None:
    _check_all(_gallery_cases(tmp_path, model, other_model, gallery, good))


# --- configs (siamese train) ---------------------------------------------------------------------------------
def _config_cases(tmp: Path, data_root: Path) -> list[Case]:
    configs = {
        "bad YAML": (b"loss: {name: contrastive\nmodel: [1, 2\n", ["not valid YAML"]),
        "empty file": (b"", ["empty"]),
        "only a comment": (b"# nothing here\n", ["empty"]),
        "unknown key": (b"loss: {name: contrastive, marjin: 2}\n", ["loss.marjin", "unknown key"]),
        "margin .nan": (b"loss: {margin: .nan}\n", ["loss.margin", "finite"]),
        "embedding_dim 0": (b"model: {embedding_dim: 0}\n", ["model.embedding_dim"]),
        "loss.name bogus": (b"loss: {name: bogus}\n", ["loss.name", "bogus"]),
        "non-UTF-8": (b"seed: 0\nmodel: {tower: \xff\xfe}\n", ["UTF-8"]),
        "top level list": (b"- 1\n- 2\n", ["mapping"]),
        "epochs string": (b"train: {epochs: many}\n", ["train.epochs"]),
    }
    cases = []
    for k, (label, (text, expect)) in enumerate(configs.items()):
        cfg = tmp / f"config_{k}.yaml"
        cfg.write_bytes(text)
        out = tmp / f"out_{k}"
        cases.append(Case(f"config: {label}", ["train", str(cfg), "--data", str(data_root), "--out", str(out)],
                          [str(cfg), *expect] if label in ("bad YAML", "empty file", "only a comment", "non-UTF-8")
                          else expect, absent=[out], inproc=label in ("only a comment", "top level list",
                                                                      "epochs string")))
    folder = tmp / "config_dir.yaml"
    folder.mkdir()
    cases.append(Case("config: a directory", ["train", str(folder), "--out", str(tmp / "out_dir")], [str(folder)],
                      absent=[tmp / "out_dir"]))
    cases.append(Case("config: missing file", ["train", str(tmp / "nope.yaml"), "--out", str(tmp / "out_nope")],
                      [str(tmp / "nope.yaml")], absent=[tmp / "out_nope"], inproc=True))
    good_cfg = REPO / "configs" / "orl-smoke.yaml"
    cases.append(Case("config: --set bad value", ["train", str(good_cfg), "--set", "train.epochs=-3", "--out",
                                                  str(tmp / "out_set")], ["train.epochs"], absent=[tmp / "out_set"],
                      inproc=True))
    cases.append(Case("config: --set without =", ["train", str(good_cfg), "--set", "train.epochs", "--out",
                                                   str(tmp / "out_set2")], ["train.epochs"],
                      absent=[tmp / "out_set2"], inproc=True))
    return cases


def test_bad_configs(data_root: Path, tmp_path: Path) -> None:
    _check_all(_config_cases(tmp_path, data_root))


# --- pairs files (siamese evaluate) --------------------------------------------------------------------------
def _pairs_cases(tmp: Path, model: Path, orl_root: Path) -> list[Case]:
    a, b, c = (orl_root / s / "1.pgm" for s in ("s1", "s2", "s3"))
    a2 = orl_root / "s1" / "2.pgm"
    genuine = tmp / "genuine_only.csv"
    genuine.write_text(f"{a},{a2},1\n{b},{orl_root / 's2' / '2.pgm'},1\n")
    no_header = tmp / "bad_first_row.csv"
    no_header.write_text(f"{a},{a2},yes\n{a},{b},0\n{a},{a2},1\n{b},{c},0\n")
    bad_later = tmp / "bad_later_row.csv"
    bad_later.write_text(f"path_a,path_b,same\n{a},{a2},1\n{a},{b},maybe\n")
    columns = tmp / "two_columns.csv"
    columns.write_text(f"{a},{a2}\n")
    lfw = tmp / "pairs.txt"
    lfw.write_text("not an LFW pairs file at all\n")
    missing_images = tmp / "missing_images.csv"
    missing_images.write_text(f"{tmp / 'x.jpg'},{tmp / 'y.jpg'},1\n{tmp / 'x.jpg'},{tmp / 'z.jpg'},0\n")

    def evaluate(name: str, pairs: Path, expect: list[str], inproc: bool = False) -> Case:
        return Case(f"pairs: {name}", ["evaluate", str(model), "--pairs", str(pairs), "--json"], [str(pairs), *expect],
                    protect=[model], inproc=inproc)

    return [
        evaluate("only genuine pairs", genuine, ["genuine", "impostor"]),
        evaluate("non-numeric label in the first row (no header)", no_header, ["line 1", "yes"]),
        evaluate("non-numeric label later", bad_later, ["line 3", "maybe"], inproc=True),
        evaluate("two columns", columns, ["line 1", "columns"], inproc=True),
        evaluate("does not exist", tmp / "nope.csv", []),
        evaluate("not an LFW pairs file", lfw, [], inproc=True),
        evaluate("every image missing", missing_images, ["no pair could be scored"], inproc=True),
    ]


def test_bad_pairs_files(model: Path, orl_root: Path, tmp_path: Path) -> None:
    _check_all(_pairs_cases(tmp_path, model, orl_root))


# --- concurrency ---------------------------------------------------------------------------------------------
def test_two_enrolments_create_the_same_new_gallery_together(model: Path, orl_root: Path, tmp_path: Path) -> None:
    """Two ``enroll --from-dir`` processes, disjoint people, a gallery path that does not exist yet: both land."""
    people = {0: [f"s{s}" for s in range(1, 5)], 1: [f"s{s}" for s in range(5, 9)]}
    roots = []
    for k, names in people.items():
        root = tmp_path / f"enroll{k}"
        for person in names:
            (root / person).mkdir(parents=True)
            for i in (1, 2):
                (root / person / f"{i}.pgm").symlink_to(orl_root / person / f"{i}.pgm")
        roots.append(root)
    gallery = tmp_path / "shared" / "gallery"
    procs = [subprocess.Popen([sys.executable, "-m", "siamese.cli.app", "enroll", "--from-dir", str(root),
                               "--model", str(model), "--gallery", str(gallery), "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
                              stdin=subprocess.DEVNULL) for root in roots]
    results = [p.communicate(timeout=180) for p in procs]
    codes = [p.returncode for p in procs]
    assert codes == [0, 0], f"exit codes {codes}; stderr: {[err for _, err in results]}"
    listing = subprocess.run([sys.executable, "-m", "siamese.cli.app", "gallery", "list", "--gallery", str(gallery),
                              "--json"], capture_output=True, text=True, env=_env(), timeout=TIMEOUT)
    assert listing.returncode == 0, listing.stderr
    assert sorted(json.loads(listing.stdout)["identities"]) == sorted(people[0] + people[1])
