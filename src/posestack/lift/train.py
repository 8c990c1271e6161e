"""Train the lifter on generated motions and export it to ONNX.

``python -m posestack.lift.train --out lifter.onnx [--sequences 6000] [--minutes 8]
[--device cuda --workers 14 --batch 512]`` trains :class:`posestack.lift.model.Lifter`
on :mod:`posestack.lift.synthetic` data (MPJPE loss in the camera's axes, Adam with a
cosine learning rate over the time given, windows of 41 frames), reports the MPJPE and
PA-MPJPE on held-out generated sequences, and writes the ONNX model (dynamic batch and
length) with the figures in its metadata. With ``--checkpoint-minutes`` the model is
also exported every so often, so a run cut short still leaves weights.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

WINDOW = 41  # frames per training window (the receptive field is 27)


def _data(n: int, seed: int, workers: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``n`` generated sequences: inputs ``(n, 81, 17, 3)`` and targets ``(n, 81, 17, 3)``
    (float32), made in ``workers`` processes of 500 sequences each."""
    if workers > 1 and n > 500:
        from concurrent.futures import ProcessPoolExecutor

        chunks = [(min(500, n - i), seed + 7919 * (i // 500)) for i in range(0, n, 500)]
        with ProcessPoolExecutor(workers) as pool:
            parts = list(pool.map(_data, *zip(*chunks, strict=True)))
        return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    from .synthetic import sample_motions, view

    poses = sample_motions(n, seed=seed)
    x2d, scores, y3d = view(poses, seed=seed + 1)
    x = np.concatenate([x2d, scores[..., None]], -1).astype(np.float32)
    return x, y3d.astype(np.float32)


def _figures(model, xv: np.ndarray, yv: np.ndarray, steps: int, sequences: int) -> dict:
    import torch

    from ..evaluate import mpjpe

    device = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        pv = np.concatenate([model(torch.from_numpy(xv[i:i + 256]).to(device)).cpu().numpy()
                             for i in range(0, len(xv), 256)])
    model.train()
    return {"steps": steps, "sequences": sequences,
            "parameters": int(sum(p.numel() for p in model.parameters())),
            "heldout_mpjpe_mm": 1000 * mpjpe(pv, yv),
            "heldout_pa_mpjpe_mm": 1000 * mpjpe(pv, yv, "procrustes")}


def train(sequences: int = 6000, minutes: float = 8.0, seed: int = 0, width: int = 256,
          threads: int | None = None, device: str = "cpu", workers: int = 1,
          batch: int = 96, lr: float = 1e-3, checkpoint: Path | None = None,
          checkpoint_minutes: float = 0.0, steps: int | None = None
          ) -> tuple[object, dict]:
    """Train for about ``minutes`` on ``sequences`` generated sequences.

    Args:
        sequences: generated training sequences (81 frames each).
        minutes: training time; the learning rate falls from ``lr`` to 0 along a cosine
            over it.
        seed: random seed (held-out data use ``seed + 1000``).
        width: the model's channels.
        threads: torch's CPU threads.
        device: torch device (``cpu``, ``cuda``).
        workers: processes that generate the data.
        batch: sequences per step.
        lr: the starting learning rate.
        checkpoint: with ``checkpoint_minutes`` > 0, export the model there that often.
        steps: also stop after this many steps (the learning rate then follows whichever
            of time and steps runs out first), for results that do not depend on the
            machine's speed.

    Returns:
        The model (on the CPU, in eval mode) and its held-out figures (mm).
    """
    import math

    import torch

    from .model import Lifter

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    x, y = _data(sequences, seed, workers)
    xv, yv = _data(max(50, sequences // 20), seed + 1000, workers)
    model = Lifter(width).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    xt, yt = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
    t0 = last = time.perf_counter()
    done = 0
    gen = torch.Generator(device=device).manual_seed(seed)
    while (frac := max((time.perf_counter() - t0) / (minutes * 60),
                       done / steps if steps else 0.0)) < 1.0:
        for g in opt.param_groups:
            g["lr"] = lr * 0.5 * (1 + math.cos(math.pi * frac))
        idx = torch.randint(0, len(x), (batch,), device=device, generator=gen)
        t0w = int(torch.randint(0, x.shape[1] - WINDOW + 1, (1,), generator=gen,
                                device=device).item())
        pred = model(xt[idx, t0w:t0w + WINDOW])
        loss = torch.linalg.vector_norm(pred - yt[idx, t0w:t0w + WINDOW], dim=-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        done += 1
        if checkpoint is not None and checkpoint_minutes > 0 and \
                time.perf_counter() - last > checkpoint_minutes * 60:
            last = time.perf_counter()
            figures = _figures(model, xv, yv, done, sequences)
            print(json.dumps(figures), flush=True)
            export(model, checkpoint, figures)
    figures = _figures(model, xv, yv, done, sequences)
    return model.cpu().eval(), figures


def export(model, path: Path, figures: dict) -> Path:
    """The model as ONNX (inputs ``keypoints`` ``(B, T, 17, 3)``), with ``figures`` in
    its metadata."""
    import copy

    import onnx
    import torch

    model = copy.deepcopy(model).cpu().eval()
    dummy = torch.zeros(1, 27, 17, 3)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with warnings.catch_warnings():  # the exporter's notes on padding slices
        warnings.filterwarnings("ignore", "Constant folding", UserWarning)
        torch.onnx.export(model, (dummy,), str(tmp), input_names=["keypoints"],
                          output_names=["xyz"],
                          dynamic_axes={"keypoints": {0: "b", 1: "t"}, "xyz": {0: "b", 1: "t"}},
                          opset_version=17, dynamo=False)
    m = onnx.load(str(tmp))
    entry = m.metadata_props.add()
    entry.key, entry.value = "posestack_lifter", json.dumps(figures)
    onnx.save(m, str(tmp))
    tmp.replace(path)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="the .onnx file to write")
    ap.add_argument("--sequences", type=int, default=6000, help="generated sequences")
    ap.add_argument("--minutes", type=float, default=8.0, help="training time")
    ap.add_argument("--seed", type=int, default=0, help="random seed")
    ap.add_argument("--device", default="cpu", help="torch device (default cpu)")
    ap.add_argument("--workers", type=int, default=1,
                    help="processes generating the data (default 1)")
    ap.add_argument("--batch", type=int, default=96, help="sequences per step (default 96)")
    ap.add_argument("--lr", type=float, default=1e-3, help="starting learning rate")
    ap.add_argument("--width", type=int, default=256, help="the model's channels")
    ap.add_argument("--checkpoint-minutes", type=float, default=0.0,
                    help="also export to --out this often (default 0: only at the end)")
    args = ap.parse_args(argv)
    model, figures = train(args.sequences, args.minutes, args.seed, width=args.width,
                           device=args.device, workers=args.workers, batch=args.batch,
                           lr=args.lr, checkpoint=args.out,
                           checkpoint_minutes=args.checkpoint_minutes)
    export(model, args.out, figures)
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
