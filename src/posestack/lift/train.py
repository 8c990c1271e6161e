"""Train the lifter on generated motions and export it to ONNX.

``python -m posestack.lift.train --out lifter.onnx [--sequences 6000] [--minutes 8]``
trains :class:`posestack.lift.model.Lifter` on :mod:`posestack.lift.synthetic` data
(MPJPE loss in the camera's axes, Adam, windows of 41 frames), reports the MPJPE and
PA-MPJPE on held-out generated sequences, and writes the ONNX model (dynamic batch and
length) with the figures in its metadata.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

WINDOW = 41  # frames per training window (the receptive field is 27)


def _data(n: int, seed: int):
    from .synthetic import sample_motions, view

    poses = sample_motions(n, seed=seed)
    x2d, scores, y3d = view(poses, seed=seed + 1)
    x = np.concatenate([x2d, scores[..., None]], -1).astype(np.float32)
    return x, y3d.astype(np.float32)


def train(sequences: int = 6000, minutes: float = 8.0, seed: int = 0, width: int = 256,
          threads: int | None = None) -> tuple[object, dict]:
    """Train for about ``minutes`` on ``sequences`` generated sequences; returns the model
    and its held-out figures (mm)."""
    import torch

    from ..evaluate import mpjpe
    from .model import Lifter

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    x, y = _data(sequences, seed)
    xv, yv = _data(max(50, sequences // 20), seed + 1000)
    model = Lifter(width)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    t0 = time.perf_counter()
    steps = 0
    rng = np.random.default_rng(seed)
    while time.perf_counter() - t0 < minutes * 60:
        model.train()
        idx = torch.from_numpy(rng.integers(0, len(x), 96))
        t0w = int(rng.integers(0, x.shape[1] - WINDOW + 1))
        pred = model(xt[idx, t0w:t0w + WINDOW])
        loss = torch.linalg.vector_norm(pred - yt[idx, t0w:t0w + WINDOW], dim=-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        steps += 1
        if steps % 500 == 0:
            for g in opt.param_groups:
                g["lr"] *= 0.8
    model.eval()
    with torch.no_grad():
        pv = model(torch.from_numpy(xv)).numpy()
    figures = {"steps": steps, "sequences": sequences,
               "parameters": int(sum(p.numel() for p in model.parameters())),
               "heldout_mpjpe_mm": 1000 * mpjpe(pv, yv),
               "heldout_pa_mpjpe_mm": 1000 * mpjpe(pv, yv, "procrustes")}
    return model, figures


def export(model, path: Path, figures: dict) -> Path:
    """The model as ONNX (inputs ``keypoints`` ``(B, T, 17, 3)``), with ``figures`` in
    its metadata."""
    import onnx
    import torch

    dummy = torch.zeros(1, 27, 17, 3)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(model, (dummy,), str(path), input_names=["keypoints"],
                      output_names=["xyz"], dynamic_axes={"keypoints": {0: "b", 1: "t"},
                                                         "xyz": {0: "b", 1: "t"}},
                      opset_version=17, dynamo=False)
    m = onnx.load(str(path))
    entry = m.metadata_props.add()
    entry.key, entry.value = "posestack_lifter", json.dumps(figures)
    onnx.save(m, str(path))
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="the .onnx file to write")
    ap.add_argument("--sequences", type=int, default=6000, help="generated sequences")
    ap.add_argument("--minutes", type=float, default=8.0, help="training time")
    ap.add_argument("--seed", type=int, default=0, help="random seed")
    args = ap.parse_args(argv)
    model, figures = train(args.sequences, args.minutes, args.seed)
    export(model, args.out, figures)
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
