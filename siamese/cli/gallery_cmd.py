"""Gallery commands: ``enroll``, ``identify``, ``gallery list|info|remove|migrate`` and ``verify --claim``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from siamese.cli.output import emit, fail, handle_errors, warn
from siamese.cli.params import MODEL_OPT, path_argument, path_option

gallery_app = typer.Typer(help="Inspect or edit a gallery: list, info, remove NAME, migrate SRC DST.",
                          no_args_is_help=True)

CHECK_FACE_OPT = typer.Option(False, "--check-face", help="Models on pre-aligned crops (detector none): refuse "
                              "photos in which YuNet finds no face.")
GALLERY_OPT = typer.Option(None, "--gallery", "-g", help="Gallery directory, milvus-lite file (PATH.db) or Milvus "
                           "URI (http://host:19530) (default: $SIAMESE_GALLERY or the user data dir).")


@handle_errors
def enroll(
    name: str | None = typer.Argument(None, help="Identity name (omit with --from-dir)."),
    images: list[Path] | None = path_argument(None, help="Photos of this person."),
    from_dir: Path | None = path_option(None, "--from-dir",
                                         help="Enroll ROOT/<name>/<photos>, one folder each."),
    model: Path | None = MODEL_OPT,
    gallery: str | None = GALLERY_OPT,
    index: str = typer.Option("flat", "--index", help="Index kind for a new gallery: flat | ivf | hnsw."),
    check_face: bool = CHECK_FACE_OPT,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Enroll photos into the gallery (created on first use, bound to the model). Bad photos are skipped: each one
    is named with its reason on stderr; a photo already enrolled for that name is not added twice. Exit 0 when
    something was enrolled (or all of it already was), 2 when nothing was."""
    from siamese import api

    if from_dir is not None:
        if name is not None or images:
            fail("give either NAME IMAGE... or --from-dir ROOT, not both")
        summary = api.enroll_folder(from_dir, gallery=gallery, model=model, index=index, progress=not as_json,
                                    check_face=check_face)
    else:
        if not name or not images:
            fail("give NAME and at least one IMAGE (or --from-dir ROOT)")
        if Path(name).suffix and Path(name).is_file():  # 'enroll a.jpg b.jpg': the name was forgotten
            fail(f"{name}: is a file, not an identity name; give the name first: siamese enroll NAME IMAGE...")
        summary = api.enroll(name, images, gallery=gallery, model=model, index=index, progress=not as_json,
                             check_face=check_face)
    payload = summary.to_dict()
    payload["gallery"] = str(_gallery_address(gallery))
    for s in payload["skipped"]:
        warn(f"skipped {s['file'] if 'file' in s else repr(s.get('identity'))}: {s['reason']}")
    emit(payload, as_json, _enroll_text)
    if not summary.enrolled and not summary.already_enrolled:
        raise typer.Exit(2)


def _gallery_address(gallery: str | None) -> Any:
    from siamese.api import _gallery_path

    return _gallery_path(gallery)


def _enroll_text(p: dict[str, Any]) -> str:
    line = f"enrolled {len(p['enrolled'])} identities, {p['templates']} templates into {p['gallery']}"
    if p["already_enrolled"]:
        line += f"; {sum(p['already_enrolled'].values())} photos were already enrolled (not added again)"
    return line + (f" ({len(p['skipped'])} skipped, reasons on stderr)" if p["skipped"] else "")


@handle_errors
def identify(
    image: Path = path_argument(..., help="Photo of the person to identify."),
    model: Path | None = MODEL_OPT,
    gallery: str | None = GALLERY_OPT,
    top_k: int = typer.Option(5, "--top-k", "-k", min=1, help="How many candidates to list."),
    threshold: float | None = typer.Option(None, "--threshold", help="Distance threshold (default: calibrated)."),
    check_face: bool = CHECK_FACE_OPT,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Who is this? Exit 0 = found (closest within the threshold), 1 = unknown, 2 = error."""
    from siamese import api

    result = api.identify(image, gallery=gallery, model=model, top_k=top_k, threshold=threshold,
                          check_face=check_face)
    payload = result.to_dict()
    payload["image"] = str(image)

    def text(p: dict[str, Any]) -> str:
        head = f"identified: {p['name']}" if p["found"] else "unknown (nobody within the threshold)"
        rows = [f"  {c['name']}: distance {c['distance']:.4f}{' *' if c['accepted'] else ''}" for c in p["candidates"]]
        return "\n".join([head, f"threshold {p['threshold']:.4f}", *rows])

    emit(payload, as_json, text)
    raise typer.Exit(0 if result.found else 1)


@gallery_app.command("list")
@handle_errors
def gallery_list(gallery: str | None = GALLERY_OPT, as_json: bool = typer.Option(False, "--json")) -> None:
    """List enrolled identities."""
    from siamese import api

    names = api.gallery_names(gallery)
    emit({"identities": names, "count": len(names)}, as_json, lambda p: "\n".join(p["identities"]) or "(empty)")


@gallery_app.command("info")
@handle_errors
def gallery_info(gallery: str | None = GALLERY_OPT, as_json: bool = typer.Option(False, "--json")) -> None:
    """Counts, index kind, model fingerprint and file sizes."""
    from siamese import api

    emit(api.gallery_info(gallery), as_json)


@gallery_app.command("remove")
@handle_errors
def gallery_remove(
    name: str = typer.Argument(..., help="Identity to forget."),
    gallery: str | None = GALLERY_OPT,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Forget a person: their templates leave the index and the catalogue, and no bytes of them remain."""
    from siamese import api

    emit(api.remove(name, gallery).to_dict(), as_json, lambda p: f"removed {p['removed']} "
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
    from siamese import api

    summary = api.migrate(src, dst, index=index)
    emit(summary, as_json, lambda p: f"copied {p['identities']} identities, {p['templates']} templates "
         f"from {p['source']} to {p['destination']} (index {p['index']})")


def register(app: typer.Typer) -> None:
    app.command("enroll")(enroll)
    app.command("identify")(identify)
    app.add_typer(gallery_app, name="gallery")
