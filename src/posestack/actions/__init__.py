"""Skeleton action recognition: data (PYSKL pickles, NTU files, clips from bundles),
ST-GCN++ and SkateFormer in plain PyTorch (:mod:`~posestack.actions.stgcn`,
:mod:`~posestack.actions.skateformer`; torch is imported on demand), training
(:mod:`~posestack.actions.train`), prediction over long videos with ONNX Runtime or torch
(:mod:`~posestack.actions.predict`), and actions defined in words, counted with no
training (:mod:`~posestack.actions.words`).
"""

from .data import (
    ActionData,
    bundle_clip,
    dataset_from_labels,
    read_ntu_skeleton,
    read_pyskl,
    write_pyskl,
)
from .layouts import bones, to_model_layout

__all__ = ["ActionData", "bones", "bundle_clip", "dataset_from_labels", "read_ntu_skeleton",
           "read_pyskl", "to_model_layout", "write_pyskl"]
