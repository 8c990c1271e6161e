"""Skeleton action recognition: data (PYSKL pickles, NTU files, clips from bundles) and
ST-GCN++ in plain PyTorch (:mod:`posestack.actions.stgcn`, imported on demand: torch).

Training, prediction and SkateFormer are not built yet (issue 15).
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
