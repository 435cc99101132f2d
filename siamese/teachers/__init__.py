"""Pretrained teachers for knowledge distillation: :class:`Teacher` (the interface), :class:`DlibTeacher` (dlib's
128-D ResNet descriptor; ``pip install 'siamese[teacher]'``), and :func:`teacher_embeddings` (computed once per photo,
cached on disk by content hash, resumable, per-file errors). Teachers are registered in
``siamese.plugins.TEACHERS``; ``get_teacher(name, **kwargs)`` builds one."""

from __future__ import annotations

from typing import Any

from siamese.teachers.base import Teacher
from siamese.teachers.cache import TeacherEmbeddings, teacher_embeddings

__all__ = ["Teacher", "TeacherEmbeddings", "get_teacher", "teacher_embeddings"]


def get_teacher(name: str, **kwargs: Any) -> Teacher:
    """The teacher registered as ``name`` (``"dlib"``), built with ``kwargs``."""
    from siamese.plugins import TEACHERS

    return TEACHERS.build(name, **kwargs)
