"""Entry point of the ``siamese`` command. Each command lives in its own module and imports TensorFlow only when
it needs a model, so ``siamese --help`` and the gallery listing start fast."""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

import typer

from siamese import __version__
from siamese.cli import benchmark_cmd, gallery_cmd, model_cmds, train_cmd

app = typer.Typer(
    name="siamese",
    help="Face verification: train embedding networks, enroll faces, verify and identify people.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"siamese {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
    engine: str | None = typer.Option(None, "--engine", help="How models run: auto (LiteRT when the model has a "
                                      "TFLite file, else Keras) | litert | keras. Default: $SIAMESE_ENGINE or auto."),
) -> None:
    """siamese: twin-tower face verification on TensorFlow / Keras 3."""
    if engine is not None:
        os.environ["SIAMESE_ENGINE"] = engine


train_cmd.register(app)
model_cmds.register(app)
gallery_cmd.register(app)
benchmark_cmd.register(app)


# commands that always need Keras: imported up front with TensorFlow, quietly (see siamese/_quiet.py; under another
# Keras backend TensorFlow is optional). The others (enroll, verify, identify, evaluate, calibrate, gallery) run on
# LiteRT and import TensorFlow only if the Keras engine is used.
NEEDS_TENSORFLOW = {"train", "export", "benchmark"}


def _one_line_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                      file: Any = None, line: str | None = None) -> None:
    """Python warnings on the command line: one ``siamese: warning:`` line on stderr, like every other message."""
    from siamese.cli.output import warn

    warn(str(message))


def _usage_error(message: str) -> None:
    """An error found before a command runs: one stderr line (and the JSON object under --json), exit 2."""
    from siamese.cli.output import fail

    try:
        fail(message, 2, as_json="--json" in sys.argv[2:])
    except typer.Exit:
        sys.exit(2)


def main() -> None:
    """The ``siamese`` command. Usage errors (a missing argument, an unknown option, a bad option value) are one
    line on stderr with exit code 2, like every other error (click would draw a multi-line box)."""
    try:  # typer >= 0.22 carries its own copy of click
        from typer.exceptions import Abort
        from typer.exceptions import TyperException as ClickException
    except ImportError:  # pragma: no cover - older typer on click
        from click.exceptions import Abort, ClickException

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.showwarning = _one_line_warning
    if NEEDS_TENSORFLOW & set(sys.argv[1:2]) and not {"--help", "-h"} & set(sys.argv):
        from siamese._quiet import import_tensorflow_quietly

        command = sys.argv[1]
        try:
            import_tensorflow_quietly(required=command == "export")
        except ImportError as e:  # one line, exit 2 (the training extra is not installed)
            backend = os.environ.get("KERAS_BACKEND")
            if command == "export":
                need, hint = "TensorFlow (its TFLite converter)", "pip install 'siamese[train]'"
            else:
                need = "Keras on its backend" + (f" ({backend})" if backend else "")
                hint = "pip install 'siamese[train]', or 'siamese[jax]' for KERAS_BACKEND=jax"
            _usage_error(f"'{command}' needs {need}: {' '.join(str(e).split())} ({hint})")
    try:
        code = app(standalone_mode=False)
    except ClickException as e:  # usage errors and bad option values
        message = " ".join(e.format_message().split())
        ctx = getattr(e, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        _usage_error(f"{message}{hint}")
    except Abort:
        typer.echo("siamese: interrupted", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
