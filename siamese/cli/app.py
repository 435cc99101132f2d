"""Entry point of the ``siamese`` command. Each command lives in its own module and imports TensorFlow only when
it needs a model, so ``siamese --help`` and the gallery listing start fast."""

from __future__ import annotations

import os
import sys

import typer

from siamese import __version__
from siamese.cli import gallery_cmd, model_cmds, train_cmd

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
) -> None:
    """siamese: twin-tower face verification on TensorFlow / Keras 3."""


train_cmd.register(app)
model_cmds.register(app)
gallery_cmd.register(app)


# commands that load a model or train: TensorFlow is imported up front, quietly (see siamese/_quiet.py)
NEEDS_TENSORFLOW = {"train", "evaluate", "calibrate", "export", "verify", "identify", "enroll"}


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if NEEDS_TENSORFLOW & set(sys.argv[1:2]) and not {"--help", "-h"} & set(sys.argv):
        from siamese._quiet import import_tensorflow_quietly

        import_tensorflow_quietly()
    app()


if __name__ == "__main__":
    main()
