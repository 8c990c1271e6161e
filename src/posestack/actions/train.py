"""Training an action model on a PYSKL dataset, on the CPU (or a GPU when present).

Inputs are prepared as PYSKL's standard pipeline does, in our own code: 2D keypoints are
normalised by the person's bounding box over the clip (PYSKL's ``PreNormalize2D`` in
``auto`` mode) with the score as a third channel; 3D keypoints are centred on the first
frame's hip midpoint and turned about the vertical so that its hip line lies along +x
(the spirit of ``PreNormalize3D``, without assuming NTU's joints); clips are resampled to
``clip_len`` frames (uniform segments: one frame per segment, the middle one at
evaluation, a random one in training; shorter clips loop, as ``UniformSample`` does).

:func:`train` runs SGD with Nesterov momentum and a cosine schedule (PYSKL's recipe:
lr 0.1 for batch 128, scaled to the batch; weight decay 5e-4), keeps ``last.pt`` after
every epoch (a killed run resumes from it), ``best.pt`` (best validation accuracy) and
``history.json``; the seed makes it reproducible on one machine.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..io.atomic import atomic_path
from .data import ActionData
from .layouts import MODEL_LAYOUTS


@dataclass(frozen=True)
class TrainConfig:
    """What a training run depends on (saved with every checkpoint)."""

    model: str = "stgcnpp"
    layout: str = "coco"
    channels: int = 3
    clip_len: int = 48
    num_person: int = 1
    base_channels: int = 64
    epochs: int = 30
    batch_size: int = 16
    lr: float = 0.1 * 16 / 128
    weight_decay: float = 5e-4
    seed: int = 0
    train_split: str = "train"
    val_split: str = "val"


def prepare(ann: dict[str, Any], clip_len: int, num_person: int, *,
            rng: np.random.Generator | None = None) -> np.ndarray:
    """One annotation as the model's input ``(M, clip_len, V, 3)`` float32 (see the module
    doc); ``rng`` picks random frames within the segments (training), else the middle."""
    kp = np.asarray(ann["keypoint"], np.float64)          # (M, T, V, C)
    M, T, V, C = kp.shape
    if C == 2:
        score = np.asarray(ann.get("keypoint_score", np.ones(kp.shape[:3])), np.float64)
        seen = score > 0
        x = np.where(seen[..., None], kp, np.nan)
        lo, hi = np.nanmin(x, axis=(1, 2)), np.nanmax(x, axis=(1, 2))   # (M, 2)
        centre = (lo + hi) / 2
        half = np.maximum(np.max(hi - lo, axis=-1, keepdims=True) / 2, 1e-6)
        x = (x - centre[:, None, None]) / half[:, None, None]
        x = np.concatenate([np.nan_to_num(x), np.where(seen, score, 0.0)[..., None]], -1)
    else:
        x = np.nan_to_num(kp)     # 3D: centred and turned by _center_3d
    # resample in time
    if T >= clip_len:
        edges = np.linspace(0, T, clip_len + 1)
        if rng is None:
            idx = ((edges[:-1] + edges[1:]) / 2).astype(int)
        else:
            idx = np.minimum((edges[:-1] + rng.random(clip_len) * np.diff(edges)).astype(int),
                             T - 1)
    else:
        start = int(rng.integers(T)) if rng is not None else 0
        idx = (start + np.arange(clip_len)) % T
    x = x[:, idx]
    out = np.zeros((num_person, clip_len, V, 3), np.float32)
    out[:min(M, num_person)] = x[:num_person, ..., :3]
    return out


def _center_3d(ann: dict[str, Any], layout: str) -> dict[str, Any]:
    """3D clips centred on the first frame's hips and turned so their hip line is +x."""
    kp = np.asarray(ann["keypoint"], np.float64).copy()
    names = MODEL_LAYOUTS[layout][0]
    lh, rh = names.index("left_hip"), names.index("right_hip")
    f0 = kp[0, 0]
    centre = (f0[lh] + f0[rh]) / 2
    d = f0[lh] - f0[rh]
    ang = math.atan2(d[1], d[0])                        # Z up: turn about z
    c, s = math.cos(-ang + math.pi / 2), math.sin(-ang + math.pi / 2)
    R = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    zero = (np.abs(kp).sum(-1) == 0)
    kp = (kp - centre) @ R.T
    kp[zero] = 0.0
    return {**ann, "keypoint": kp}


def _device():
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def train(data: ActionData, out_dir: str | os.PathLike, config: TrainConfig | None = None,
          *, progress: bool = True) -> dict[str, Any]:
    """Train (or resume) a model on ``data``'s train split; validate on its val split.

    Returns:
        the history: per epoch loss, train and validation accuracy, seconds; and the
        best epoch and accuracy.

    Raises:
        InputError: no torch, an empty train split, clips in several layouts, a model
            name this version does not build, or a checkpoint in ``out_dir`` made with
            another configuration.
    """
    import torch

    from .stgcn import build_stgcnpp

    cfg = config or TrainConfig()
    if cfg.model != "stgcnpp":
        raise InputError(f"model {cfg.model!r} is not built yet; this version trains "
                         "'stgcnpp'")
    by_dir = {a["frame_dir"]: a for a in data.annotations}
    tr = [by_dir[d] for d in data.split.get(cfg.train_split, [])]
    va = [by_dir[d] for d in data.split.get(cfg.val_split, [])]
    if not tr:
        raise InputError(f"the dataset has no clips in split {cfg.train_split!r} (splits: "
                         f"{', '.join(data.split) or 'none'})")
    V = {np.asarray(a["keypoint"]).shape[2] for a in data.annotations}
    layouts = [k for k, v in MODEL_LAYOUTS.items() if len(v[0]) in V]
    if len(V) != 1 or not layouts:
        raise InputError(f"clips have {sorted(V)} joints; a dataset holds one model layout")
    layout = layouts[0] if cfg.layout not in layouts else cfg.layout
    cfg = TrainConfig(**{**asdict(cfg), "layout": layout})
    if np.asarray(tr[0]["keypoint"]).shape[-1] == 3:
        tr = [_center_3d(a, layout) for a in tr]
        va = [_center_3d(a, layout) for a in va]
    n_cls = len(data.label_names)
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    model = build_stgcnpp(n_cls, layout, cfg.channels, cfg.base_channels)
    dev = _device()
    model.to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9, nesterov=True,
                          weight_decay=cfg.weight_decay)
    steps = cfg.epochs * math.ceil(len(tr) / cfg.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps))
    history: dict[str, Any] = {"epochs": [], "best_epoch": None, "best_accuracy": -1.0,
                               "config": asdict(cfg), "label_names": data.label_names}
    start = 0
    last = out / "last.pt"
    for stale in out.glob(".*.part"):  # left by a run killed while writing
        stale.unlink(missing_ok=True)
    if last.is_file():
        ck = torch.load(last, map_location=dev, weights_only=False)
        if ck["config"] != asdict(cfg):
            raise InputError(f"{last} was made with another configuration; use another "
                             "output folder or remove it")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        history, start = ck["history"], ck["epoch"] + 1
    rng = np.random.default_rng(cfg.seed + start)
    Xv = (torch.tensor(np.stack([prepare(a, cfg.clip_len, cfg.num_person) for a in va]))
          if va else None)
    yv = torch.tensor([int(a["label"]) for a in va]) if va else None
    for epoch in range(start, cfg.epochs):
        t0 = time.perf_counter()
        model.train()
        order = rng.permutation(len(tr))
        total, correct, loss_sum = 0, 0, 0.0
        for b in range(0, len(order), cfg.batch_size):
            batch = [tr[i] for i in order[b:b + cfg.batch_size]]
            x = torch.tensor(np.stack([prepare(a, cfg.clip_len, cfg.num_person, rng=rng)
                                       for a in batch])).to(dev)
            y = torch.tensor([int(a["label"]) for a in batch]).to(dev)
            opt.zero_grad()
            logits = model(x)
            loss = torch.nn.functional.cross_entropy(logits, y)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(batch)
            correct += int((logits.argmax(1) == y).sum())
            total += len(batch)
        acc_v = evaluate(model, Xv, yv) if Xv is not None else float("nan")
        rec = {"epoch": epoch, "loss": loss_sum / total, "train_accuracy": correct / total,
               "val_accuracy": acc_v, "seconds": time.perf_counter() - t0}
        history["epochs"].append(rec)
        if acc_v > history["best_accuracy"] or (Xv is None and epoch == cfg.epochs - 1):
            history["best_epoch"], history["best_accuracy"] = epoch, acc_v
            with atomic_path(out / "best.pt") as tmp:
                torch.save({"model": model.state_dict(), "config": asdict(cfg),
                            "label_names": data.label_names, "epoch": epoch}, tmp)
        # Each file is replaced whole: a run killed at any moment leaves the previous
        # epoch's checkpoint readable, and the same command resumes from it.
        with atomic_path(last) as tmp:
            torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                        "scheduler": sched.state_dict(), "config": asdict(cfg),
                        "history": history, "epoch": epoch}, tmp)
        with atomic_path(out / "history.json") as tmp:
            tmp.write_text(json.dumps(history, indent=1))
        if progress:
            print(f"epoch {epoch + 1}/{cfg.epochs}: loss {rec['loss']:.3f}, train "
                  f"{rec['train_accuracy']:.1%}, val {acc_v:.1%} ({rec['seconds']:.1f} s)",
                  file=sys.stderr, flush=True)
    return history


def evaluate(model, X, y) -> float:
    """Top-1 accuracy of ``model`` on prepared clips ``X (N, M, T, V, 3)`` and labels."""
    import torch

    model.eval()
    dev = next(model.parameters()).device
    with torch.no_grad():
        pred = torch.cat([model(X[i:i + 64].to(dev)).argmax(1).cpu()
                          for i in range(0, len(X), 64)])
    return float((pred == y).float().mean())


__all__ = ["TrainConfig", "evaluate", "prepare", "train"]
