"""Margin softmax losses of the identification head against a numpy oracle; the head layer; the registry."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from siamese.errors import ConfigError
from siamese.losses.identification import MarginSoftmaxLoss, margin_softmax_loss
from siamese.models.heads import CosineClassifier, identification_head


def _oracle(labels: np.ndarray, cos: np.ndarray, m: float, s: float, kind: str) -> np.ndarray:
    out = []
    for i, y in enumerate(labels):
        logits = cos[i].astype(np.float64).copy()
        if kind == "cosface":
            logits[y] = logits[y] - m
        elif np.arccos(logits[y]) + m <= np.pi:
            logits[y] = np.cos(np.arccos(np.clip(logits[y], -1 + 1e-6, 1 - 1e-6)) + m)
        else:  # InsightFace: past pi the angular margin would turn round; fall back to an additive one
            logits[y] = logits[y] - m * np.sin(np.pi - m)
        logits *= s
        out.append(-(logits[y] - np.log(np.sum(np.exp(logits - logits.max()))) - logits.max()))
    return np.array(out)


@pytest.mark.parametrize("kind", ["cosface", "arcface"])
@pytest.mark.parametrize("margin", [0.0, 0.2, 0.5])
def test_margin_softmax_matches_numpy(kind: str, margin: float, rng: np.random.Generator) -> None:
    cos = rng.uniform(-0.9, 0.9, size=(12, 7)).astype(np.float32)
    labels = rng.integers(0, 7, size=12)
    got = np.asarray(margin_softmax_loss(labels, cos, margin, 16.0, kind))
    np.testing.assert_allclose(got, _oracle(labels, cos, margin, 16.0, kind), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("margin", [0.2, 0.5])
def test_arcface_loss_falls_as_the_target_cosine_rises_over_all_of_minus_one_to_one(margin: float) -> None:
    """Past theta + m = pi, cos(theta + m) grows again with theta: the loss must not reward leaving the class."""
    target = np.linspace(-0.999, 0.999, 400).astype(np.float32)
    cos = np.stack([target, np.zeros_like(target), np.full_like(target, 0.3)], axis=1)
    loss = np.asarray(margin_softmax_loss(np.zeros(len(target), int), cos, margin, 30.0, "arcface"))
    assert np.all(np.diff(loss) <= 1e-5), target[1:][np.diff(loss) > 1e-5][:5]


def test_a_larger_margin_costs_more_and_zero_margin_is_normalised_softmax(rng: np.random.Generator) -> None:
    cos = rng.uniform(-0.5, 0.5, size=(8, 5)).astype(np.float32)
    labels = rng.integers(0, 5, size=8)
    small, large = (float(np.mean(margin_softmax_loss(labels, cos, m, 30.0))) for m in (0.1, 0.4))
    assert large > small
    plain = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, 30.0 * cos)
    assert float(np.mean(margin_softmax_loss(labels, cos, 0.0, 30.0))) == pytest.approx(float(plain), rel=1e-5)


def test_loss_margin_is_a_variable_and_config_round_trips() -> None:
    loss = MarginSoftmaxLoss(margin=0.3, scale=20.0, kind="arcface")
    assert set(loss.margins) == {"head_margin"}
    loss.margins["head_margin"].assign(0.1)
    clone = MarginSoftmaxLoss.from_config(loss.get_config())
    assert clone.kind == "arcface" and clone.scale == 20.0
    assert float(keras.ops.convert_to_numpy(clone.head_margin)) == pytest.approx(0.1)
    with pytest.raises(ConfigError, match="model.head.kind"):
        MarginSoftmaxLoss(kind="sphereface")


def test_cosine_classifier_outputs_cosines(rng: np.random.Generator) -> None:
    layer = CosineClassifier(6)
    x = rng.normal(size=(5, 8)).astype(np.float32)
    cos = np.asarray(layer(x))
    w = np.asarray(layer.centres)
    oracle = (x / np.linalg.norm(x, axis=1, keepdims=True)) @ (w / np.linalg.norm(w, axis=0, keepdims=True))
    np.testing.assert_allclose(cos, oracle, atol=1e-5)
    assert CosineClassifier.from_config(layer.get_config()).num_classes == 6


def test_heads_come_from_the_registry() -> None:
    layer, loss = identification_head("softmax", 4)
    assert isinstance(layer, keras.layers.Dense)
    layer, loss = identification_head("AM-Softmax", 4, margin=0.2)  # alias of cosface
    assert isinstance(layer, CosineClassifier) and loss.kind == "cosface"
    with pytest.raises(ConfigError, match=r"model\.head\.kind: unknown identification head"):
        identification_head("nope", 4)
