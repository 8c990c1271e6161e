"""Training an action model on a PYSKL dataset, on the CPU (or a GPU when present).

Clips are prepared by :mod:`posestack.actions.inputs` (PYSKL's normalisation and uniform
sampling, in our own code), in the configured modality and part.

:func:`train` follows each model's published recipe, shortened: ST-GCN++ with SGD,
Nesterov momentum and a cosine schedule (PYSKL: lr 0.1 for batch 128, scaled to the
batch; weight decay 5e-4); SkateFormer with AdamW (lr 1e-3, weight decay 0.1), a linear
warm-up over the first 5% of the steps then cosine, label smoothing 0.1 and gradient
clipping at 1. It keeps ``last.pt`` after every epoch (a killed run resumes from it, each
file replaced whole), ``best.pt`` (best validation accuracy), ``history.json`` and, at the
end, the validation confusion matrix (``confusion.csv`` and ``confusion.png``); the seed
makes it reproducible on one machine.
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
from .inputs import MODALITIES, batch_inputs, prepare
from .layouts import MODEL_LAYOUTS, PARTS

MODELS = ("stgcnpp", "skateformer")


@dataclass(frozen=True)
class TrainConfig:
    """What a training run depends on (saved with every checkpoint).

    ``base_channels``, ``lr`` and ``weight_decay`` left as None take the model's own
    defaults (:meth:`resolved`).
    """

    model: str = "stgcnpp"
    layout: str = "coco"
    modality: str = "j"
    part: str = "body"
    clip_len: int = 48
    num_person: int = 1
    base_channels: int | None = None
    epochs: int = 30
    batch_size: int = 16
    lr: float | None = None
    weight_decay: float | None = None
    seed: int = 0
    train_split: str = "train"
    val_split: str = "val"

    def resolved(self) -> TrainConfig:
        """The configuration with the model's defaults filled in, checked."""
        if self.model not in MODELS:
            raise InputError(f"unknown model {self.model!r}; valid: {', '.join(MODELS)}")
        if self.modality not in MODALITIES:
            raise InputError(f"unknown modality {self.modality!r}; valid: "
                             f"{', '.join(MODALITIES)}")
        if self.layout not in MODEL_LAYOUTS:
            raise InputError(f"unknown layout {self.layout!r}")
        if self.part not in PARTS[self.layout]:
            raise InputError(f"unknown part {self.part!r}; valid: "
                             f"{', '.join(PARTS[self.layout])}")
        if min(self.epochs, self.batch_size, self.num_person) < 1 or self.clip_len < 4:
            raise InputError(f"--epochs and --batch-size must be at least 1 and --clip-len at "
                             f"least 4 (got epochs {self.epochs}, batch size "
                             f"{self.batch_size}, clip length {self.clip_len}, persons "
                             f"{self.num_person})")
        sk = self.model == "skateformer"
        base = self.base_channels if self.base_channels is not None else (96 if sk else 64)
        if base < 1:
            raise InputError(f"the width (base channels) must be positive; got {base}")
        if sk and base % 32:
            raise InputError(f"SkateFormer's width must be a multiple of 32; got {base}")
        if not sk and base < 6:
            raise InputError(f"ST-GCN++'s base channels must be at least 6; got {base}")
        lr = self.lr if self.lr else (1e-3 if sk else 0.1 * self.batch_size / 128)
        wd = self.weight_decay if self.weight_decay is not None else (0.1 if sk else 5e-4)
        return TrainConfig(**{**asdict(self), "base_channels": base, "lr": lr,
                              "weight_decay": wd})


def build_model(config: TrainConfig, num_classes: int):
    """The ``torch.nn.Module`` a (resolved) configuration describes."""
    from .skateformer import build_skateformer
    from .stgcn import build_stgcnpp

    cfg = config.resolved()
    if cfg.model == "skateformer":
        return build_skateformer(num_classes, cfg.layout, 3, cfg.num_person, cfg.clip_len,
                                 width=cfg.base_channels)
    return build_stgcnpp(num_classes, cfg.layout, 3, cfg.base_channels)


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

    cfg = config or TrainConfig()
    by_dir = {a["frame_dir"]: a for a in data.annotations}
    tr = [by_dir[d] for d in data.split.get(cfg.train_split, [])]
    va = [by_dir[d] for d in data.split.get(cfg.val_split, [])]
    if not tr:
        raise InputError(f"the dataset has no clips in split {cfg.train_split!r} (splits: "
                         f"{', '.join(data.split) or 'none'})")
    classes = {int(a["label"]) for a in tr}
    if len(classes) < 2:
        print(f"warning: the training clips hold one class ({data.label_names[classes.pop()]}"
              "): the model will answer it for everything; label clips of two or more "
              "actions", file=sys.stderr)
    if not va:
        print(f"warning: no validation clips (split {cfg.val_split!r} is empty): accuracy is "
              "not measured and best.pt is the last epoch; build the dataset with more "
              "clips or a larger --val-fraction", file=sys.stderr)
    V = {np.asarray(a["keypoint"]).shape[2] for a in data.annotations}
    layouts = [k for k, v in MODEL_LAYOUTS.items() if len(v[0]) in V]
    if len(V) != 1 or not layouts:
        raise InputError(f"clips have {sorted(V)} joints; a dataset holds one model layout")
    layout = layouts[0] if cfg.layout not in layouts else cfg.layout
    cfg = TrainConfig(**{**asdict(cfg), "layout": layout}).resolved()
    n_cls = len(data.label_names)
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    model = build_model(cfg, n_cls)
    dev = _device()
    model.to(dev)
    sk = cfg.model == "skateformer"
    steps = cfg.epochs * math.ceil(len(tr) / cfg.batch_size)
    if sk:
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        warm = max(1, steps // 20)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: (
            (i + 1) / warm if i < warm else
            0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * (i - warm) / max(1, steps - warm)))))
    else:
        opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9, nesterov=True,
                              weight_decay=cfg.weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps))
    dim = int(np.asarray(tr[0]["keypoint"]).shape[-1])
    history: dict[str, Any] = {"epochs": [], "best_epoch": None, "best_accuracy": -1.0,
                               "config": asdict(cfg), "label_names": data.label_names,
                               "dim": dim}
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
    Xv = torch.tensor(batch_inputs(va, cfg)) if va else None
    yv = torch.tensor([int(a["label"]) for a in va]) if va else None
    for epoch in range(start, cfg.epochs):
        t0 = time.perf_counter()
        model.train()
        order = rng.permutation(len(tr))
        total, correct, loss_sum = 0, 0, 0.0
        for b in range(0, len(order), cfg.batch_size):
            batch = [tr[i] for i in order[b:b + cfg.batch_size]]
            x = torch.tensor(batch_inputs(batch, cfg, rng)).to(dev)
            y = torch.tensor([int(a["label"]) for a in batch]).to(dev)
            opt.zero_grad()
            logits = model(x)
            loss = torch.nn.functional.cross_entropy(logits, y,
                                                     label_smoothing=0.1 if sk else 0.0)
            loss.backward()
            if sk:
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(batch)
            correct += int((logits.argmax(1) == y).sum())
            total += len(batch)
        if sk:
            _precise_bn(model, tr, cfg, dev)
        acc_v = evaluate(model, Xv, yv) if Xv is not None else float("nan")
        rec = {"epoch": epoch, "loss": loss_sum / total, "train_accuracy": correct / total,
               "val_accuracy": acc_v, "seconds": time.perf_counter() - t0}
        history["epochs"].append(rec)
        if acc_v > history["best_accuracy"] or (Xv is None and epoch == cfg.epochs - 1):
            history["best_epoch"], history["best_accuracy"] = epoch, acc_v
            with atomic_path(out / "best.pt") as tmp:
                torch.save({"model": model.state_dict(), "config": asdict(cfg),
                            "label_names": data.label_names, "epoch": epoch, "dim": dim,
                            "num_classes": n_cls}, tmp)
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
    if Xv is not None and (out / "best.pt").is_file():
        best = torch.load(out / "best.pt", map_location=dev, weights_only=False)
        model.load_state_dict(best["model"])
        pred = predict_logits(model, Xv).argmax(1)
        write_confusion(out, confusion(yv.numpy(), pred, n_cls), data.label_names)
    return history


def _precise_bn(model, anns: list[dict[str, Any]], cfg: TrainConfig, dev) -> None:
    """Recompute the batch-norm statistics over the training clips (PreciseBN).

    SkateFormer's few batch norms see features that move fast while training on a small
    dataset; their running averages then lag so far behind that evaluation collapses to
    one class (seen here: 85% top-1 with batch statistics, 12.5% with running ones).
    One forward pass with cumulative averages fixes that before each validation."""
    import torch

    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    model.eval()
    saved = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None
        bn.train()
    with torch.no_grad():
        for i in range(0, len(anns), cfg.batch_size):
            model(torch.tensor(batch_inputs(anns[i:i + cfg.batch_size], cfg)).to(dev))
    for bn, mom in zip(bns, saved, strict=True):
        bn.momentum = mom
    model.eval()


def confusion(truth: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """``(n_classes, n_classes)`` counts: row = true class, column = predicted."""
    c = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(c, (np.asarray(truth, int), np.asarray(pred, int)), 1)
    return c


def write_confusion(out_dir: str | os.PathLike, matrix: np.ndarray,
                    label_names: list[str]) -> list[Path]:
    """``confusion.csv`` and, with matplotlib (the ``plot`` extra), ``confusion.png``:
    counts per true (rows) and predicted (columns) class, rows normalised in the image."""
    out = Path(out_dir)
    paths = [out / "confusion.csv"]
    with atomic_path(paths[0]) as tmp:
        lines = ["true/predicted," + ",".join(label_names)]
        lines += [f"{n}," + ",".join(str(int(v)) for v in row)
                  for n, row in zip(label_names, matrix, strict=True)]
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return paths
    rows = matrix / np.maximum(matrix.sum(1, keepdims=True), 1)
    n = len(label_names)
    fig, ax = plt.subplots(figsize=(2.2 + 0.55 * n, 1.8 + 0.5 * n), dpi=110)
    ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            if matrix[i, j]:
                ax.text(j, i, str(int(matrix[i, j])), ha="center", va="center", fontsize=8,
                        color="white" if rows[i, j] > 0.5 else "black")
    ax.set_xticks(range(n), label_names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(n), label_names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    acc = np.trace(matrix) / max(matrix.sum(), 1)
    ax.set_title(f"validation: {acc:.1%} of {int(matrix.sum())} clips", fontsize=9)
    fig.tight_layout()
    paths.append(out / "confusion.png")
    with atomic_path(paths[1]) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return paths


def predict_logits(model, X) -> np.ndarray:
    """Logits ``(N, classes)`` of a torch model for prepared clips ``X (N, M, T, V, 3)``."""
    import torch

    model.eval()
    dev = next(model.parameters()).device
    X = torch.as_tensor(X)
    with torch.no_grad():
        return torch.cat([model(X[i:i + 64].to(dev)).cpu()
                          for i in range(0, len(X), 64)]).numpy()


def evaluate(model, X, y) -> float:
    """Top-1 accuracy of ``model`` on prepared clips ``X (N, M, T, V, 3)`` and labels."""
    pred = predict_logits(model, X).argmax(1)
    return float((pred == np.asarray(y)).mean())


__all__ = ["MODELS", "TrainConfig", "build_model", "confusion", "evaluate", "predict_logits",
           "prepare", "train", "write_confusion"]
