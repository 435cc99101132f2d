"""Losses composed from distance + miner + reducer: each piece against explicit loops over pairs / triplets,
the two-margin contrastive term, reductions, serialisation round trips and the registry."""

from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest

from siamese import distances, losses
from siamese.errors import ConfigError
from siamese.losses import miners, reducers


def np_contrastive(same: bool, d: float, margin: float, pos_margin: float) -> float:
    return max(d - pos_margin, 0.0) ** 2 if same else max(margin - d, 0.0) ** 2


def batch(rng, n_classes=3, per_class=4, dim=5):
    labels = np.repeat(np.arange(n_classes), per_class)
    rng.shuffle(labels)
    x = rng.normal(size=(len(labels), dim)).astype(np.float32) + 0.4 * labels[:, None]
    return labels.astype(np.int32), x / np.linalg.norm(x, axis=1, keepdims=True)


def np_pdist(x, name="euclidean"):
    return np.array([[distances.get(name).rowwise(x[i:i + 1], x[j:j + 1])[0] for j in range(len(x))]
                     for i in range(len(x))], dtype=np.float64)


# -- reducers --------------------------------------------------------------------------------------------
def test_reducers_against_numpy(rng):
    terms = np.maximum(rng.normal(size=(6, 6)), 0.0).astype(np.float32)
    weights = (rng.random((6, 6)) < 0.6).astype(np.float32)
    genuine = (rng.random((6, 6)) < 0.3).astype(np.float32)
    sel = terms[weights > 0]
    assert float(reducers.MeanReducer()(terms, weights)) == pytest.approx(sel.mean(), rel=1e-6)
    assert float(reducers.AvgNonZeroReducer()(terms, weights)) == pytest.approx(sel[sel > 0].mean(), rel=1e-6)
    g, i = terms[(weights > 0) & (genuine > 0)], terms[(weights > 0) & (genuine == 0)]
    assert float(reducers.BalancedReducer()(terms, weights, genuine)) == pytest.approx(0.5 * (g.mean() + i.mean()),
                                                                                       rel=1e-6)
    gz, iz = g[g > 0], i[i > 0]
    assert float(reducers.BalancedNonZeroReducer()(terms, weights, genuine)) == pytest.approx(
        0.5 * (gz.mean() + iz.mean()), rel=1e-6)
    # every impostor term satisfied: only the genuine half is left (avg_nonzero over all would be the genuine mean)
    only_genuine = np.where(genuine > 0, terms, 0.0).astype(np.float32)
    assert float(reducers.BalancedNonZeroReducer()(only_genuine, weights, genuine)) == pytest.approx(
        0.5 * gz.mean(), rel=1e-6)
    assert float(reducers.MeanReducer()(terms)) == pytest.approx(terms.mean(), rel=1e-6)  # no weights: all


def test_reducers_of_nothing_are_zero():
    zeros = np.zeros((3, 3), np.float32)
    for reducer in (reducers.MeanReducer(), reducers.AvgNonZeroReducer(), reducers.BalancedReducer(),
                    reducers.BalancedNonZeroReducer()):
        assert float(reducer(np.ones((3, 3), np.float32), zeros, zeros)) == 0.0
    assert float(reducers.AvgNonZeroReducer()(zeros, np.ones((3, 3), np.float32))) == 0.0
    with pytest.raises(ValueError, match="genuine"):
        reducers.BalancedReducer()(zeros, zeros)
    with pytest.raises(ValueError, match="genuine"):
        reducers.BalancedNonZeroReducer()(zeros, zeros)


# -- miners ----------------------------------------------------------------------------------------------
def mine_pairs(miner, labels, x, margins):
    pdist = distances.EUCLIDEAN.matrix(keras.ops.convert_to_tensor(x))
    pos, neg = miners.label_masks(labels)
    p, n = miner(pdist, pos, neg, margins)
    return np.asarray(p), np.asarray(n)


def test_pair_miners_against_loops(rng):
    labels, x = batch(rng)
    d = np_pdist(x)
    n = len(labels)
    margins = {"margin": 0.9, "pos_margin": 0.5}
    p, q = mine_pairs(miners.AllPairsMiner(), labels, x, margins)
    for i, j in itertools.product(range(n), range(n)):
        assert p[i, j] == float(i != j and labels[i] == labels[j]) and q[i, j] == float(labels[i] != labels[j])
    p, q = mine_pairs(miners.MarginViolatorMiner(), labels, x, margins)
    for i, j in itertools.product(range(n), range(n)):
        same = labels[i] == labels[j]
        assert p[i, j] == float(i != j and same and d[i, j] > 0.5)
        assert q[i, j] == float(not same and d[i, j] < 0.9)
    p, q = mine_pairs(miners.HardestPairMiner(), labels, x, margins)
    for a in range(n):
        positives = [j for j in range(n) if j != a and labels[j] == labels[a]]
        negatives = [j for j in range(n) if labels[j] != labels[a]]
        assert list(np.flatnonzero(p[a])) == [max(positives, key=lambda j: d[a, j])]
        assert list(np.flatnonzero(q[a])) == [min(negatives, key=lambda j: d[a, j])]


def mine_triplets(miner, labels, x):
    pdist = distances.EUCLIDEAN.matrix(keras.ops.convert_to_tensor(x))
    pos, neg = miners.label_masks(labels)
    w, idx = miner(pdist, pos, neg, {"margin": 0.5})
    return np.asarray(w), np.asarray(idx)


def test_triplet_miners_against_loops(rng):
    labels, x = batch(rng)
    d = np_pdist(x)
    n = len(labels)
    w, idx = mine_triplets(miners.SemiHardMiner(), labels, x)
    for a, p in itertools.product(range(n), range(n)):
        is_pair = p != a and labels[p] == labels[a]
        assert w[a, p] == float(is_pair)
        if is_pair:
            negatives = [j for j in range(n) if labels[j] != labels[a]]
            farther = [j for j in negatives if d[a, j] > d[a, p]]
            expected = min(farther, key=lambda j: d[a, j]) if farther else max(negatives, key=lambda j: d[a, j])
            assert d[a, idx[a, p]] == pytest.approx(d[a, expected], abs=1e-6)
    w, idx = mine_triplets(miners.BatchHardMiner(), labels, x)
    for a in range(n):
        positives = [j for j in range(n) if j != a and labels[j] == labels[a]]
        negatives = [j for j in range(n) if labels[j] != labels[a]]
        assert list(np.flatnonzero(w[a])) == [max(positives, key=lambda j: d[a, j])]
        assert set(idx[a]) == {min(negatives, key=lambda j: d[a, j])}


@pytest.mark.parametrize("spec", ["all_pairs", "margin_violators", "hardest", "semihard", "Semi-Hard", "batch_hard"])
def test_miner_config_round_trips(spec):
    miner = miners.get(spec)
    assert miners.get(miners.to_config(miner)) == miner
    assert keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(miner)) == miner
    assert miners.get({"name": miner.name}) == miner


@pytest.mark.parametrize("spec", ["mean", "avg_nonzero", "balanced", "balanced_nonzero"])
def test_reducer_config_round_trips(spec):
    reducer = reducers.get(spec)
    assert reducers.to_config(reducer) == spec
    assert reducers.get(keras.saving.serialize_keras_object(reducer)) == reducer


def test_unknown_miner_and_reducer_name_their_keys():
    with pytest.raises(ConfigError, match=r"^loss\.miner: unknown miner 'easy'"):
        miners.get("easy")
    with pytest.raises(ConfigError, match=r"^loss\.reducer: unknown reducer 'median'"):
        reducers.get("median")


# -- the two-margin contrastive loss ---------------------------------------------------------------------
def test_two_margin_contrastive_against_numpy(rng):
    y = rng.integers(0, 2, size=40).astype(np.float32)
    d = rng.uniform(0.0, 2.0, size=40).astype(np.float32)
    got = np.asarray(losses.contrastive_loss(y, d[:, None], margin=1.2, pos_margin=0.4))
    np.testing.assert_allclose(got, [np_contrastive(bool(a), float(b), 1.2, 0.4) for a, b in zip(y, d, strict=True)],
                               rtol=1e-6, atol=1e-7)
    loss = losses.ContrastiveLoss(margin=1.2, pos_margin=0.4)
    assert float(loss(y, d)) == pytest.approx(got.mean(), rel=1e-6)
    assert set(loss.margins) == {"margin", "pos_margin"} and loss.margins["margin"] is loss.margin
    assert all(isinstance(v, keras.Variable) and not v.trainable for v in loss.margins.values())
    # pos_margin = 0 is exactly the old (TFA) loss
    np.testing.assert_array_equal(np.asarray(losses.contrastive_loss(y, d, 1.0, 0.0)),
                                  np.asarray(losses.contrastive_loss(y, d)))


def test_contrastive_with_reducers_and_sample_weights(rng):
    y = rng.integers(0, 2, size=30).astype(np.float32)
    d = rng.uniform(0.0, 2.0, size=30).astype(np.float32)
    w = rng.integers(0, 2, size=30).astype(np.float32)
    terms = np.array([np_contrastive(bool(a), float(b), 1.0, 0.3) for a, b in zip(y, d, strict=True)])
    avg = losses.ContrastiveLoss(pos_margin=0.3, reducer="avg_nonzero")
    assert float(avg(y, d)) == pytest.approx(terms[terms > 0].mean(), rel=1e-5)
    sel = (w > 0) & (terms > 0)
    assert float(avg(y, d, sample_weight=w)) == pytest.approx(terms[sel].mean(), rel=1e-5)
    balanced = losses.ContrastiveLoss(pos_margin=0.3, reducer="balanced")
    expected = 0.5 * (terms[y == 1].mean() + terms[y == 0].mean())
    assert float(balanced(y, d)) == pytest.approx(expected, rel=1e-5)


# -- batch contrastive with miners and reducers: explicit double loops ------------------------------------
def np_batch_contrastive(labels, x, margin, pos_margin, miner, reducer, name="euclidean"):
    d = np_pdist(x, name)
    n = len(labels)
    pos, neg = [], []
    for a in range(n):
        positives = [j for j in range(n) if j != a and labels[j] == labels[a]]
        negatives = [j for j in range(n) if labels[j] != labels[a]]
        if miner == "all_pairs":
            chosen_p, chosen_n = positives, negatives
        elif miner == "margin_violators":
            chosen_p = [j for j in positives if d[a, j] > pos_margin]
            chosen_n = [j for j in negatives if d[a, j] < margin]
        else:  # hardest
            chosen_p = [max(positives, key=lambda j: d[a, j])] if positives else []
            chosen_n = [min(negatives, key=lambda j: d[a, j])] if negatives else []
        pos += [np_contrastive(True, d[a, j], margin, pos_margin) for j in chosen_p]
        neg += [np_contrastive(False, d[a, j], margin, pos_margin) for j in chosen_n]
    terms = np.array(pos + neg)
    if reducer == "mean":
        return terms.mean() if len(terms) else 0.0
    if reducer == "avg_nonzero":
        return terms[terms > 0].mean() if np.any(terms > 0) else 0.0
    if reducer == "balanced_nonzero":
        pos, neg = [t for t in pos if t > 0], [t for t in neg if t > 0]
    return 0.5 * ((np.mean(pos) if pos else 0.0) + (np.mean(neg) if neg else 0.0))


@pytest.mark.parametrize("miner", ["all_pairs", "margin_violators", "hardest"])
@pytest.mark.parametrize("reducer", ["mean", "avg_nonzero", "balanced", "balanced_nonzero"])
def test_batch_contrastive_composition_against_loops(rng, miner, reducer):
    labels, x = batch(rng)
    loss = losses.BatchContrastiveLoss(margin=0.9, pos_margin=0.4, distance="l2", miner=miner, reducer=reducer)
    expected = np_batch_contrastive(labels, x, 0.9, 0.4, miner, reducer)
    assert float(loss(labels, x)) == pytest.approx(expected, rel=1e-5, abs=1e-6)
    got = losses.batch_contrastive_loss(labels, x, 0.9, "L2", pos_margin=0.4, miner=miner, reducer=reducer)
    assert float(got) == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_margin_violators_add_nothing_under_avg_nonzero(rng):
    """The LFW study has no margin-violator row for this reason: avg_nonzero already averages over exactly the pairs
    that violate their margin, so the value and the gradients are the same with and without that miner."""
    labels, x = batch(rng)
    x = keras.Variable(x)
    kw = {"margin": 0.9, "pos_margin": 0.4, "distance": "l2", "reducer": "avg_nonzero"}
    plain = losses.BatchContrastiveLoss(miner="all_pairs", **kw)
    mined = losses.BatchContrastiveLoss(miner="margin_violators", **kw)
    assert float(mined(labels, x)) == pytest.approx(float(plain(labels, x)), rel=1e-6)
    import tensorflow as tf

    grads = []
    for loss in (plain, mined):
        with tf.GradientTape() as tape:
            value = loss(labels, x.value)
        grads.append(tape.gradient(value, x.value).numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-5, atol=1e-7)
    # ... while the hardest-pair miner does change the loss
    hardest = losses.BatchContrastiveLoss(miner="hardest", **kw)
    assert float(hardest(labels, x)) != pytest.approx(float(plain(labels, x)), rel=1e-3)


def test_triplet_losses_with_other_miners_and_reducers(rng):
    labels, x = batch(rng)
    d = np_pdist(x, "cosine")
    terms = []
    for a in range(len(labels)):
        d_ap = max(d[a, p] for p in range(len(labels)) if p != a and labels[p] == labels[a])
        d_an = min(d[a, n] for n in range(len(labels)) if labels[n] != labels[a])
        terms.append(max(d_ap - d_an + 0.3, 0.0))
    terms = np.array(terms)
    loss = losses.TripletSemiHardLoss(0.3, distance=distances.COSINE, miner="batch_hard", reducer="avg_nonzero")
    assert float(loss(labels, x)) == pytest.approx(terms[terms > 0].mean(), rel=1e-5)


def test_miner_kind_and_reducer_are_checked():
    with pytest.raises(ConfigError, match="loss.miner: BatchContrastiveLoss needs a miner of pairs"):
        losses.BatchContrastiveLoss(miner="semihard")
    with pytest.raises(ConfigError, match="loss.miner: TripletHardLoss needs a miner of triplets"):
        losses.TripletHardLoss(miner="hardest")
    with pytest.raises(ConfigError, match="loss.reducer: 'balanced'"):
        losses.TripletSemiHardLoss(reducer="balanced")
    with pytest.raises(ConfigError, match="not both"):
        losses.TripletHardLoss(distance="cosine", distance_metric="L2")


# -- Keras reduction: honoured or refused, never ignored -------------------------------------------------
@pytest.mark.parametrize("cls", [losses.BatchContrastiveLoss, losses.TripletSemiHardLoss, losses.TripletHardLoss])
def test_keras_reduction_is_validated(cls, rng):
    labels, x = batch(rng)
    value = float(cls()(labels, x))
    for reduction in ("none", None):
        assert float(cls(reduction=reduction)(labels, x)) == value  # the reducer's scalar, as is
    for reduction in ("sum", "mean"):
        with pytest.raises(ConfigError, match="reduction: .* already reduced by its reducer"):
            cls(reduction=reduction)
    with pytest.raises(ConfigError, match="sample_weight"):
        cls()(labels, x, sample_weight=np.ones(len(labels), np.float32))


def test_contrastive_reduction_is_honoured_without_reducer(rng):
    y = rng.integers(0, 2, size=8).astype(np.float32)
    d = rng.uniform(0, 2, size=8).astype(np.float32)
    per_pair = np.asarray(losses.contrastive_loss(y, d, 1.0, 0.2))
    assert float(losses.ContrastiveLoss(pos_margin=0.2, reduction="sum")(y, d)) == pytest.approx(per_pair.sum())
    with pytest.raises(ConfigError, match="reduction"):
        losses.ContrastiveLoss(reducer="mean", reduction="sum")


# -- configs ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("loss", [
    losses.ContrastiveLoss(margin=0.8, pos_margin=0.1, reducer="avg_nonzero", distance="L2"),
    losses.BatchContrastiveLoss(margin=0.7, pos_margin=0.2, distance="angular", miner="hardest", reducer="mean"),
    losses.TripletSemiHardLoss(margin=0.3, distance="squared-L2", reducer="avg_nonzero"),
    losses.TripletHardLoss(margin=0.4, soft=True, distance="cosine"),
], ids=lambda loss: type(loss).__name__)
def test_get_config_round_trips_everything(loss, rng):
    for variable in loss.margins.values():
        variable.assign(variable.numpy() + 0.25)
    config = loss.get_config()
    clone = type(loss).from_config(config)
    assert clone.get_config() == config
    assert clone.margin_values() == pytest.approx(loss.margin_values())
    assert clone.reducer == loss.reducer and getattr(clone, "miner", None) == getattr(loss, "miner", None)
    assert clone.distance == loss.distance
    revived = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(revived) is type(loss) and revived.get_config() == config
    labels, x = batch(rng)
    if isinstance(loss, losses.ContrastiveLoss):
        labels, x = (labels % 2).astype(np.float32), np.linalg.norm(x[::2] - x[1::2], axis=1)[: len(labels) // 2]
        labels = labels[: len(x)]
    assert float(clone(labels, x)) == pytest.approx(float(loss(labels, x)))


def test_old_saved_configs_still_load():
    old = {"name": "batch_contrastive_loss", "reduction": "sum_over_batch_size", "margin": 0.6,
           "distance_metric": "angular", "balanced": False}
    loss = losses.BatchContrastiveLoss.from_config(old)
    assert loss.distance is distances.COSINE and loss.reducer.name == "mean" and not loss.balanced
    triplet = losses.TripletHardLoss.from_config({"margin": 0.5, "soft": True, "distance_metric": "squared-L2"})
    assert triplet.distance is distances.SQUARED_EUCLIDEAN and triplet.distance_metric == "squared-L2"


def test_build_through_the_registry():
    loss = losses.build("batch-contrastive", margin=1.1, pos_margin=0.2, miner="margin_violators",
                        reducer="avg_nonzero", distance="cosine")
    assert isinstance(loss, losses.BatchContrastiveLoss) and loss.margin_values() == pytest.approx(
        {"margin": 1.1, "pos_margin": 0.2})
    assert losses.get("triplet_hard") is losses.TripletHardLoss
    with pytest.raises(ConfigError, match=r"^loss\.name: contrastive: .*soft"):
        losses.build("contrastive", soft=True)


# -- a compiled fit: a callback changes the margins between epochs, no retrace ----------------------------
class CountingBatchContrastive(losses.BatchContrastiveLoss):
    traces = 0

    def mined_loss(self, pdist, positives, negatives):
        CountingBatchContrastive.traces += 1
        return super().mined_loss(pdist, positives, negatives)


def test_compiled_fit_uses_margins_changed_by_a_callback_without_retracing(rng):
    keras.utils.set_random_seed(0)
    labels, x = batch(rng, n_classes=4, per_class=4)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(5, kernel_initializer="identity",
                                                                    use_bias=False)])
    loss = CountingBatchContrastive(margin=0.5, pos_margin=0.0, miner="margin_violators", reducer="avg_nonzero")
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss=loss)  # lr 0: the embeddings stay x
    values = {0: (0.5, 0.0), 1: (1.2, 0.3), 2: (1.6, 0.6)}

    class SetMargins(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            loss.margin.assign(values[epoch][0])
            loss.margins["pos_margin"].assign(values[epoch][1])

    history = model.fit(x, labels, batch_size=len(labels), epochs=3, shuffle=False, verbose=0,
                        callbacks=[SetMargins()]).history["loss"]
    expected = [np_batch_contrastive(labels, x, m, pm, "margin_violators", "avg_nonzero") for m, pm in values.values()]
    assert len(set(np.round(expected, 4))) == 3
    assert history == pytest.approx(expected, rel=1e-5)
    assert CountingBatchContrastive.traces == 1, "assigning the margins retraced the step"
