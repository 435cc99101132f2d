"""Gallery commands: ``enroll``, ``identify``, ``gallery list|info|remove|migrate`` and ``verify --claim``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from siamese.cli.output import emit, fail, handle_errors

gallery_app = typer.Typer(help="Inspect or edit a gallery: list, info, remove NAME, migrate SRC DST.",
                          no_args_is_help=True)

MODEL_OPT = typer.Option(None, "--model", "-m", help="Model directory (default: $SIAMESE_MODEL or the user data dir).")
GALLERY_OPT = typer.Option(None, "--gallery", "-g", help="Gallery directory, milvus-lite file (PATH.db) or Milvus "
                           "URI (http://host:19530) (default: $SIAMESE_GALLERY or the user data dir).")


def _paths(model: Path | None, gallery: str | None) -> tuple[Path, Path | str]:
    from siamese.index.address import default_gallery_address, normalize_address
    from siamese.paths import default_model_dir

    return model or default_model_dir(), normalize_address(gallery) if gallery else default_gallery_address()


def verify_claim(image: Path, claim: str, model: Path | None, gallery: str | None,
                 threshold: float | None) -> dict[str, Any]:
    from siamese.recognition import Recognizer

    m, g = _paths(model, gallery)
    with Recognizer(m, g, threshold=threshold) as rec:
        return rec.verify(image, claim)


@handle_errors
def enroll(
    name: str | None = typer.Argument(None, help="Identity name (omit with --from-dir)."),
    images: list[Path] | None = typer.Argument(None, help="Photos of this person."),
    from_dir: Path | None = typer.Option(None, "--from-dir", help="Enroll ROOT/<name>/<photos>, one folder each."),
    model: Path | None = MODEL_OPT,
    gallery: str | None = GALLERY_OPT,
    index: str = typer.Option("flat", "--index", help="Index kind for a new gallery: flat | ivf | hnsw."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Enroll photos into the gallery (created on first use, bound to the model). Bad photos are skipped."""
    from siamese.recognition import Recognizer, identity_folders

    if from_dir is not None:
        if name is not None or images:
            fail("give either NAME IMAGE... or --from-dir ROOT, not both")
        people = identity_folders(from_dir)
    else:
        if not name or not images:
            fail("give NAME and at least one IMAGE (or --from-dir ROOT)")
        people = {name: [str(p) for p in images]}
    m, g = _paths(model, gallery)
    with Recognizer(m, g, create=True, index=index) as rec:
        summary = rec.enroll_many(people, progress=not as_json)
    payload = summary.to_dict()
    payload["gallery"] = str(g)
    emit(payload, as_json, _enroll_text)
    if not summary.enrolled:
        raise typer.Exit(2)


def _enroll_text(p: dict[str, Any]) -> str:
    lines = [f"enrolled {len(p['enrolled'])} identities, {p['templates']} templates into {p['gallery']}"]
    if p["skipped"]:
        lines.append(f"skipped {len(p['skipped'])}:")
        lines += [f"  {s.get('file', s.get('identity'))}: {s['reason']}" for s in p["skipped"]]
    return "\n".join(lines)


@handle_errors
def identify(
    image: Path = typer.Argument(..., help="Photo of the person to identify."),
    model: Path | None = MODEL_OPT,
    gallery: str | None = GALLERY_OPT,
    top_k: int = typer.Option(5, "--top-k", "-k", min=1, help="How many candidates to list."),
    threshold: float | None = typer.Option(None, "--threshold", help="Distance threshold (default: calibrated)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Who is this? Exit 0 = found (closest within the threshold), 1 = unknown, 2 = error."""
    from siamese.recognition import Recognizer

    m, g = _paths(model, gallery)
    with Recognizer(m, g, threshold=threshold) as rec:
        result = rec.identify(image, top_k=top_k)
    payload = result.to_dict()
    payload["image"] = str(image)

    def text(p: dict[str, Any]) -> str:
        head = f"identified: {p['name']}" if p["found"] else "unknown (nobody within the threshold)"
        rows = [f"  {c['name']}: distance {c['distance']:.4f}{' *' if c['accepted'] else ''}" for c in p["candidates"]]
        return "\n".join([head, f"threshold {p['threshold']:.4f}", *rows])

    emit(payload, as_json, text)
    raise typer.Exit(0 if result.found else 1)


def _open_gallery(gallery: str | None, read_only: bool = True) -> Any:
    from siamese.index import open_gallery

    return open_gallery(_paths(None, gallery)[1], read_only=read_only)


@gallery_app.command("list")
@handle_errors
def gallery_list(gallery: str | None = GALLERY_OPT, as_json: bool = typer.Option(False, "--json")) -> None:
    """List enrolled identities."""
    with _open_gallery(gallery) as g:
        names = g.names()
    emit({"identities": names, "count": len(names)}, as_json, lambda p: "\n".join(p["identities"]) or "(empty)")


@gallery_app.command("info")
@handle_errors
def gallery_info(gallery: str | None = GALLERY_OPT, as_json: bool = typer.Option(False, "--json")) -> None:
    """Counts, index kind, model fingerprint and file sizes."""
    with _open_gallery(gallery) as g:
        info = g.info()
    emit(info, as_json)


@gallery_app.command("remove")
@handle_errors
def gallery_remove(
    name: str = typer.Argument(..., help="Identity to forget."),
    gallery: str | None = GALLERY_OPT,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Forget a person: their templates leave the index and the catalogue, and no bytes of them remain."""
    with _open_gallery(gallery, read_only=False) as g:
        removed = g.remove(name)
    emit({"removed": name, "templates": removed}, as_json, lambda p: f"removed {p['removed']} "
         f"({p['templates']} templates)")


@gallery_app.command("migrate")
@handle_errors
def gallery_migrate(
    src: str = typer.Argument(..., help="Gallery to copy (directory, PATH.db, milvus-lite:PATH or Milvus URI)."),
    dst: str = typer.Argument(..., help="New gallery to create (any of the same kinds of address)."),
    index: str | None = typer.Option(None, "--index", help="Index kind of the copy (default: the source's)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Copy a gallery to a new address (local <-> Milvus): identities, templates, provenance, model binding."""
    from siamese.index import migrate

    summary = migrate(src, dst, index=index)
    emit(summary, as_json, lambda p: f"copied {p['identities']} identities, {p['templates']} templates "
         f"from {p['source']} to {p['destination']} (index {p['index']})")


def register(app: typer.Typer) -> None:
    app.command("enroll")(enroll)
    app.command("identify")(identify)
    app.add_typer(gallery_app, name="gallery")
