"""Every plug-in point of siamese in one place: one :class:`~siamese.registry.Registry` each.

Built-ins are registered lazily (``"module:attribute"``), so reading this table (the config validator does)
imports neither TensorFlow nor Keras. Add your own with the registry's decorator, e.g.::

    from siamese.plugins import LOSSES

    @LOSSES.register("my_loss")
    class MyLoss(keras.losses.Loss): ...

and name it in a config (``loss: {name: my_loss}``).

=================  ======================  ==============================================================
registry           config key              what an entry is
=================  ======================  ==============================================================
``DISTANCES``      ``model.distance``      a :class:`siamese.distances.Distance` (numpy and Keras alike)
``LOSSES``         ``loss.name``           a ``keras.losses.Loss`` class
``MINERS``         ``loss.miner``          a pair/triplet miner class (:mod:`siamese.losses.miners`)
``REDUCERS``       ``loss.reducer``        a reducer class (:mod:`siamese.losses.reducers`)
``TOWERS``         ``model.tower``         ``builder(input_shape, embedding_dim, **tower_args)`` -> Model
``SCHEDULES``      ``loss.margin_schedule`` a margin schedule class (:mod:`siamese.callbacks.schedules`)
``METRICS``        ``siamese.metrics.get`` a stateful verification metric class (training's four are fixed)
``DETECTORS``      ``faces.detector``      a :class:`siamese.faces.FaceDetector` class
``INDEXES``        ``--index``             a :class:`siamese.index.SearchBackend` class
``HEADS``          ``model.head.kind``     ``builder(num_classes, margin, scale)`` -> (layer, loss)
``TEACHERS``       ``teacher.name``        a :class:`siamese.teachers.Teacher` class (dlib)
``ENGINES``        ``--engine``            a :class:`siamese.runtime.EmbeddingEngine` class (litert, keras)
``GALLERIES``      ``--gallery``           a :class:`siamese.index.Gallery` class (picked from the address)
=================  ======================  ==============================================================
"""

from __future__ import annotations

from typing import Any

from siamese.registry import Registry

__all__ = ["DETECTORS", "DISTANCES", "ENGINES", "GALLERIES", "HEADS", "INDEXES", "LOSSES", "METRICS", "MINERS",
           "REDUCERS", "SCHEDULES", "TEACHERS", "TOWERS"]

DISTANCES: Registry[Any] = Registry("distance", key="model.distance")
DISTANCES.register("euclidean", "siamese.distances:EUCLIDEAN", aliases=("l2",))
DISTANCES.register("squared_euclidean", "siamese.distances:SQUARED_EUCLIDEAN", aliases=("squared_l2",))
DISTANCES.register("cosine", "siamese.distances:COSINE", aliases=("angular",))

LOSSES: Registry[Any] = Registry("loss", key="loss.name")
LOSSES.register("contrastive", "siamese.losses.contrastive:ContrastiveLoss")
LOSSES.register("batch_contrastive", "siamese.losses.batch_contrastive:BatchContrastiveLoss")
LOSSES.register("triplet_semihard", "siamese.losses.triplet:TripletSemiHardLoss")
LOSSES.register("triplet_hard", "siamese.losses.triplet:TripletHardLoss")
LOSSES.register("embedding_distillation", "siamese.losses.distillation:EmbeddingDistillationLoss")
LOSSES.register("relational_distillation", "siamese.losses.distillation:RelationalDistillationLoss")

MINERS: Registry[Any] = Registry("miner", key="loss.miner")
MINERS.register("all_pairs", "siamese.losses.miners.all_pairs:AllPairsMiner")
MINERS.register("margin_violators", "siamese.losses.miners.margin_violators:MarginViolatorMiner")
MINERS.register("hardest", "siamese.losses.miners.hardest:HardestPairMiner")
MINERS.register("semihard", "siamese.losses.miners.semihard:SemiHardMiner", aliases=("semi_hard",))
MINERS.register("batch_hard", "siamese.losses.miners.batch_hard:BatchHardMiner")

REDUCERS: Registry[Any] = Registry("reducer", key="loss.reducer")
REDUCERS.register("mean", "siamese.losses.reducers.mean:MeanReducer")
REDUCERS.register("avg_nonzero", "siamese.losses.reducers.avg_nonzero:AvgNonZeroReducer")
REDUCERS.register("balanced", "siamese.losses.reducers.balanced:BalancedReducer")
REDUCERS.register("balanced_nonzero", "siamese.losses.reducers.balanced_nonzero:BalancedNonZeroReducer")

TOWERS: Registry[Any] = Registry("tower", key="model.tower")
TOWERS.register("small_cnn", "siamese.models.small_cnn:build_small_cnn")
TOWERS.register("iresnet", "siamese.models.iresnet:build_iresnet")

HEADS: Registry[Any] = Registry("identification head", key="model.head.kind")
HEADS.register("softmax", "siamese.models.heads:softmax_head")
HEADS.register("cosface", "siamese.models.heads:cosface_head", aliases=("am_softmax",))
HEADS.register("arcface", "siamese.models.heads:arcface_head")

SCHEDULES: Registry[Any] = Registry("margin schedule", key="loss.margin_schedule.name")
SCHEDULES.register("constant", "siamese.callbacks.schedules:Constant")
SCHEDULES.register("linear_warmup", "siamese.callbacks.schedules:LinearWarmup")
SCHEDULES.register("cosine", "siamese.callbacks.schedules:Cosine")
SCHEDULES.register("step", "siamese.callbacks.schedules:Step")

METRICS: Registry[Any] = Registry("metric", key="metrics")
METRICS.register("verification_accuracy", "siamese.metrics.verification_accuracy:VerificationAccuracy",
                 aliases=("accuracy",))
METRICS.register("eer", "siamese.metrics.equal_error_rate:EqualErrorRate", aliases=("equal_error_rate",))
METRICS.register("tar_at_far", "siamese.metrics.true_accept_rate:TrueAcceptRate",
                 aliases=("tar", "true_accept_rate"))
METRICS.register("auc", "siamese.metrics.verification_auc:VerificationAUC", aliases=("verification_auc",))

DETECTORS: Registry[Any] = Registry("detector", key="faces.detector")
DETECTORS.register("mtcnn", "siamese.faces.mtcnn_detector:MTCNNDetector")
DETECTORS.register("yunet", "siamese.faces.yunet_detector:YuNetDetector")
DETECTORS.register("none", "siamese.faces.none_detector:NoDetector")

INDEXES: Registry[Any] = Registry("kind", key="index")
INDEXES.register("flat", "siamese.index.flat:FlatBackend")
INDEXES.register("ivf", "siamese.index.ivf:IVFBackend")
INDEXES.register("hnsw", "siamese.index.hnsw:HNSWBackend")

ENGINES: Registry[Any] = Registry("engine", key="engine")
ENGINES.register("litert", "siamese.runtime.litert_engine:LiteRTEngine", aliases=("tflite",))
ENGINES.register("keras", "siamese.runtime.keras_engine:KerasEngine", aliases=("tensorflow",))

GALLERIES: Registry[Any] = Registry("gallery backend", key="--gallery")
GALLERIES.register("local", "siamese.index.gallery:FaceGallery", aliases=("faiss",))
GALLERIES.register("milvus", "siamese.index.milvus_gallery:MilvusGallery", aliases=("milvus_lite",))

TEACHERS: Registry[Any] = Registry("teacher", key="teacher.name")
TEACHERS.register("dlib", "siamese.teachers.dlib_teacher:DlibTeacher")
