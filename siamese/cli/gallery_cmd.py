"""Gallery commands: ``enroll``, ``identify``, ``gallery list|info|remove`` and ``verify --claim``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer


def verify_claim(image: Path, claim: str, model: Path | None, gallery: Path | None,
                 threshold: float | None) -> dict[str, Any]:
    raise NotImplementedError


def register(app: typer.Typer) -> None:
    pass
