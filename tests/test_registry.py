"""The registry helper: lookup, aliases, lazy entries, errors that name the key."""

from __future__ import annotations

import sys

import pytest

from siamese import plugins
from siamese.errors import ConfigError
from siamese.registry import Registry


def test_lookup_is_case_and_dash_insensitive_and_aliases_resolve():
    reg: Registry[int] = Registry("thing", key="a.thing")
    reg.register("big_one", 1, aliases=("large",))
    assert reg.get("Big-One") == 1
    assert reg.get("LARGE") == 1
    assert reg.canonical("large") == "big_one"
    assert reg.names() == ["big_one"]
    assert reg.choices() == ["big_one", "large"]
    assert "big one" in reg and "small" not in reg


def test_unknown_name_is_one_config_error_naming_key_and_choices():
    reg: Registry[int] = Registry("thing", key="a.thing")
    reg.register("x", 1)
    reg.register("y", 2)
    with pytest.raises(ConfigError, match=r"^a\.thing: unknown thing 'z' \(choose from x, y\)$"):
        reg.get("z")
    with pytest.raises(ConfigError, match="a.thing"):
        reg.get(None)


def test_decorator_registers_and_returns_the_object():
    reg: Registry[type] = Registry("widget")

    @reg.register("w", aliases=("ww",))
    class W:
        def __init__(self, size: int = 1) -> None:
            self.size = size

    assert reg.get("ww") is W
    assert reg.build("w", size=3).size == 3
    with pytest.raises(ConfigError, match="widget: w: .*unexpected keyword"):
        reg.build("w", colour="red")


def test_lazy_entry_imports_on_first_lookup_only():
    reg: Registry[object] = Registry("codec")
    reg.register("json_dumps", "json:dumps")
    import json

    assert reg.get("json_dumps") is json.dumps


def test_plugins_table_reads_without_tensorflow():
    # the table itself is lazy: listing names must not import Keras or TensorFlow
    assert "euclidean" in plugins.DISTANCES and "angular" in plugins.DISTANCES
    assert plugins.LOSSES.names() == ["batch_contrastive", "contrastive", "embedding_distillation",
                                      "relational_distillation", "triplet_hard", "triplet_semihard"]
    assert set(plugins.DETECTORS.names()) == {"mtcnn", "none", "yunet"}
    assert set(plugins.INDEXES.names()) == {"flat", "hnsw", "ivf"}


def test_plugins_import_pulls_in_no_keras(tmp_path):
    import subprocess

    code = ("import sys, siamese.plugins as p; p.LOSSES.names(); "
            "print('keras' in sys.modules, 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]
