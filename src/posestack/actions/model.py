"""A trained action model, loaded for prediction: ONNX Runtime (no torch needed) or torch.

A model folder (what ``posestack actions train`` writes) holds ``best.pt`` and, after
:func:`export_onnx` (``train --onnx``), ``model.onnx``. The ONNX file carries what
prediction needs in its metadata (``posestack.config``: the training configuration,
``posestack.label_names``, ``posestack.dim``), so it can be copied and used alone.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..io.atomic import atomic_path
from .layouts import MODEL_LAYOUTS
from .train import TrainConfig, build_model

ONNX_FILE = "model.onnx"


def _read_checkpoint(path: Path) -> dict[str, Any]:
    try:
        import torch
    except ImportError:
        raise InputError(f"{path} is a PyTorch checkpoint and torch is not installed: "
                         "install torch==2.13.0, or export the model once with "
                         "'posestack actions train ... --onnx' and use model.onnx") from None
    try:
        ck = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:
        raise InputError(f"{path} is not a readable PyTorch checkpoint ({e})") from None
    if not isinstance(ck, dict) or "model" not in ck or "config" not in ck:
        raise InputError(f"{path} is not an action model checkpoint (no model and config): "
                         "give a folder made by 'posestack actions train'")
    return ck


def _torch_module(ck: dict[str, Any]):
    cfg = TrainConfig(**ck["config"])
    n = int(ck.get("num_classes", len(ck["label_names"])))
    model = build_model(cfg, n)
    model.load_state_dict(ck["model"])
    model.eval()
    return model


BATCH = 16  # clips per inference call (see ActionModel.logits)


@dataclass
class ActionModel:
    """A loaded model: ``logits(X)`` maps prepared clips ``(N, M, T, V, 3)`` float32 to
    ``(N, classes)``; ``config`` says how to prepare them; ``dim`` is 2 or 3."""

    config: TrainConfig
    label_names: list[str]
    dim: int
    path: Path
    backend: str
    _run: Any = field(repr=False, default=None)

    def logits(self, X: np.ndarray) -> np.ndarray:
        """Logits ``(N, classes)`` for prepared clips ``X (N, M, T, V, 3)``."""
        X = np.ascontiguousarray(X, np.float32)
        if X.ndim != 5 or X.shape[1:] != (self.config.num_person, self.config.clip_len,
                                          X.shape[3], 3):
            raise InputError(f"clips must be (N, {self.config.num_person}, "
                             f"{self.config.clip_len}, V, 3); got {X.shape}")
        if len(X) == 0:
            return np.zeros((0, len(self.label_names)), np.float32)
        # Small batches: ST-GCN++ over 480 two-second windows took 3.6 s on ONNX Runtime in
        # batches of 16 against 4.8 s in batches of 64 and 9 s in one (2 cores; the
        # activations of a big batch no longer fit the caches); torch 6.2 s against 9.1 s.
        return np.concatenate([self._run(X[i:i + BATCH]) for i in range(0, len(X), BATCH)])

    def probabilities(self, X: np.ndarray) -> np.ndarray:
        """Softmax of :meth:`logits`."""
        z = self.logits(X)
        z = np.exp(z - z.max(1, keepdims=True))
        return z / z.sum(1, keepdims=True)


def load_model(path: str | os.PathLike, *, backend: str = "auto") -> ActionModel:
    """Load a model folder (``model.onnx`` preferred, else ``best.pt``), or one such file.

    Args:
        path: a folder from ``posestack actions train``, a ``model.onnx`` or a ``.pt``.
        backend: ``"auto"``, ``"onnx"`` (ONNX Runtime) or ``"torch"``.

    Raises:
        InputError: no such file, a file of another kind, no ``model.onnx`` where ONNX
            is asked, or a checkpoint without torch installed.
    """
    p = Path(path).expanduser()
    if backend not in ("auto", "onnx", "torch"):
        raise InputError(f"backend must be auto, onnx or torch; got {backend!r}")
    if p.is_dir():
        onnx_file, pt = p / ONNX_FILE, p / "best.pt"
        if backend != "torch" and onnx_file.is_file():
            p = onnx_file
        elif backend != "onnx" and pt.is_file():
            p = pt
        else:
            want = "model.onnx" if backend == "onnx" else "best.pt or model.onnx"
            raise InputError(f"{path} has no {want}: is it a folder made by 'posestack "
                             "actions train' (add --onnx for model.onnx)?")
    elif not p.is_file():
        raise InputError(f"no such model: {p}")
    if p.suffix == ".onnx":
        return _load_onnx(p)
    ck = _read_checkpoint(p)
    import torch

    module = _torch_module(ck)

    def run(X: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return module(torch.from_numpy(X)).numpy()

    return ActionModel(TrainConfig(**ck["config"]), list(ck["label_names"]),
                       int(ck.get("dim", 2 if ck["config"]["layout"] == "coco" else 3)), p,
                       "torch", run)


def _load_onnx(p: Path) -> ActionModel:
    import onnxruntime as ort

    try:
        sess = ort.InferenceSession(str(p), providers=["CPUExecutionProvider"])
    except Exception as e:
        raise InputError(f"{p} is not a readable ONNX model ({e})") from None
    meta = sess.get_modelmeta().custom_metadata_map
    if "posestack.config" not in meta:
        raise InputError(f"{p} is an ONNX model but not a posestack action model (no "
                         "posestack.config in its metadata)")
    cfg = TrainConfig(**json.loads(meta["posestack.config"]))
    name = sess.get_inputs()[0].name

    def run(X: np.ndarray) -> np.ndarray:
        return sess.run(None, {name: X})[0]

    return ActionModel(cfg, json.loads(meta["posestack.label_names"]),
                       int(meta["posestack.dim"]), p, "onnxruntime", run)


def export_onnx(model_dir: str | os.PathLike, *, check: bool = True) -> Path:
    """Export a folder's ``best.pt`` to ``model.onnx`` (batch size free), with the
    configuration, class names and input dimension in its metadata; with ``check``, ONNX
    Runtime's logits must match torch's to 1e-3 on random clips.

    Returns:
        the path of ``model.onnx``.
    """
    import onnx
    import torch

    d = Path(model_dir).expanduser()
    ck = _read_checkpoint(d / "best.pt") if (d / "best.pt").is_file() else None
    if ck is None:
        raise InputError(f"{d} has no best.pt to export: train a model there first")
    module = _torch_module(ck)
    cfg = TrainConfig(**ck["config"])
    V = len(MODEL_LAYOUTS[cfg.layout][0])
    x = torch.randn(2, cfg.num_person, cfg.clip_len, V, 3)
    out = d / ONNX_FILE
    with atomic_path(out) as tmp:
        torch.onnx.export(module, (x,), str(tmp), input_names=["clips"],
                          output_names=["logits"], dynamic_axes={"clips": {0: "n"},
                                                                 "logits": {0: "n"}},
                          opset_version=17, dynamo=False)
        m = onnx.load(str(tmp))
        for k, v in {"posestack.config": json.dumps(asdict(cfg)),
                     "posestack.label_names": json.dumps(list(ck["label_names"])),
                     "posestack.dim": str(int(ck.get("dim", 2)))}.items():
            entry = m.metadata_props.add()
            entry.key, entry.value = k, v
        onnx.save(m, str(tmp))
        if check:
            loaded = _load_onnx(tmp)
            xb = torch.randn(3, cfg.num_person, cfg.clip_len, V, 3)
            with torch.no_grad():
                ref = module(xb).numpy()
            err = float(np.abs(loaded.logits(xb.numpy()) - ref).max())
            if not err < 1e-3:
                raise InputError(f"the ONNX export of {d} differs from torch by {err:g}; "
                                 "please report this")
    return out


__all__ = ["ONNX_FILE", "ActionModel", "export_onnx", "load_model"]
