"""From an annotation (one clip of keypoints) to a model's input tensor.

The same code prepares clips for training, evaluation and prediction, so a model always
sees what it was trained on:

* **2D** (``x, y`` and a score): each person's points are centred on their bounding box
  over the clip and divided by its half-size (so −1 … 1), missing points are 0 with score
  0; the third channel is the score.
* **3D**: centred on the first frame's hips and turned about the vertical (Z up) so the
  hip line is +x (:func:`center_3d`); missing points are 0.
* **Time**: uniform sampling to ``clip_len`` frames (PYSKL's ``UniformSampleFrames``: one
  frame per equal segment, random within it when training, the middle otherwise); a clip
  shorter than ``clip_len`` is looped from a random (training) or the first frame.
* **Modalities** (:func:`modality`): ``j`` joints, ``b`` bones (joint − parent,
  :func:`~posestack.actions.layouts.bones`), ``jm`` joint motion and ``bm`` bone motion
  (frame t+1 − frame t, zero at the last frame). A coordinate difference involving a
  missing point is 0; in 2D the third channel stays the score (the lower of the two
  points' for bones and motion).
* **Parts** (PSUMNet's idea): ``body`` (all joints), ``arms`` or ``legs``
  (:data:`~posestack.actions.layouts.PARTS`); the joints outside the part are zeroed, so
  each part stream is the same model on a reduced skeleton.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import InputError
from .layouts import MODEL_LAYOUTS, PARTS

MODALITIES = ("j", "b", "jm", "bm")


def prepare(ann: dict[str, Any], clip_len: int, num_person: int, *,
            rng: np.random.Generator | None = None) -> np.ndarray:
    """One annotation as ``(num_person, clip_len, V, 3)`` float32 joints (see the module
    doc); ``rng`` picks random frames within the segments (training), else the middle."""
    kp = np.asarray(ann["keypoint"], np.float64)          # (M, T, V, C)
    M, T, V, C = kp.shape
    if T == 0:
        raise InputError(f"clip {ann.get('frame_dir', '?')!r} has no frames")
    if C == 2:
        score = np.asarray(ann.get("keypoint_score", np.ones(kp.shape[:3])), np.float64)
        seen = (score > 0) & np.isfinite(kp).all(-1)
        x = np.where(seen[..., None], kp, np.nan)
        with np.errstate(all="ignore"):
            lo, hi = np.nanmin(x, axis=(1, 2)), np.nanmax(x, axis=(1, 2))   # (M, 2)
        lo, hi = np.nan_to_num(lo), np.nan_to_num(hi)
        centre = (lo + hi) / 2
        half = np.maximum(np.max(hi - lo, axis=-1, keepdims=True) / 2, 1e-6)
        x = (x - centre[:, None, None]) / half[:, None, None]
        x = np.concatenate([np.nan_to_num(x), np.where(seen, score, 0.0)[..., None]], -1)
    else:
        x = np.nan_to_num(kp)     # 3D: centred and turned by center_3d
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


def center_3d(ann: dict[str, Any], layout: str) -> dict[str, Any]:
    """3D clips centred on the first frame's hips and turned so their hip line is +x."""
    kp = np.asarray(ann["keypoint"], np.float64).copy()
    names = MODEL_LAYOUTS[layout][0]
    lh, rh = names.index("left_hip"), names.index("right_hip")
    f0 = np.nan_to_num(kp[0, 0])
    centre = (f0[lh] + f0[rh]) / 2
    d = f0[lh] - f0[rh]
    ang = math.atan2(d[1], d[0])                        # Z up: turn about z
    c, s = math.cos(-ang + math.pi / 2), math.sin(-ang + math.pi / 2)
    R = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    zero = ~np.isfinite(kp).all(-1) | (np.abs(np.nan_to_num(kp)).sum(-1) == 0)
    kp = (np.nan_to_num(kp) - centre) @ R.T
    kp[zero] = 0.0
    return {**ann, "keypoint": kp}


def modality(x: np.ndarray, kind: str, layout: str, *, is_2d: bool) -> np.ndarray:
    """A prepared clip ``(..., T, V, 3)`` in another modality (see the module doc)."""
    if kind not in MODALITIES:
        raise InputError(f"unknown modality {kind!r}; valid: {', '.join(MODALITIES)}")
    if kind == "j":
        return x
    coords = x[..., :2] if is_2d else x
    seen = (x[..., 2] > 0) if is_2d else (np.abs(x).sum(-1) > 0)
    score = x[..., 2] if is_2d else None
    if kind in ("b", "bm"):
        parents = np.asarray(MODEL_LAYOUTS[layout][1])
        both = seen & seen[..., parents]
        coords = np.where(both[..., None], coords - coords[..., parents, :], 0.0)
        seen = both
        if is_2d:
            score = np.where(both, np.minimum(score, score[..., parents]), 0.0)
    if kind in ("jm", "bm"):
        nxt = np.concatenate([coords[..., 1:, :, :], coords[..., -1:, :, :]], axis=-3)
        snxt = np.concatenate([seen[..., 1:, :], seen[..., -1:, :]], axis=-2)
        both = seen & snxt
        coords = np.where(both[..., None], nxt - coords, 0.0)
        if is_2d:
            s_next = np.concatenate([score[..., 1:, :], score[..., -1:, :]], axis=-2)
            score = np.where(both, np.minimum(score, s_next), 0.0)
    out = np.concatenate([coords, score[..., None]], -1) if is_2d else coords
    return out.astype(np.float32)


def part_mask(layout: str, part: str) -> np.ndarray:
    """``(V,)`` boolean: the joints a part stream sees."""
    parts = PARTS[layout]
    if part not in parts:
        raise InputError(f"unknown part {part!r}; valid: {', '.join(parts)}")
    m = np.zeros(len(MODEL_LAYOUTS[layout][0]), bool)
    m[list(parts[part])] = True
    return m


def model_input(ann: dict[str, Any], *, layout: str, clip_len: int, num_person: int,
                kind: str = "j", part: str = "body",
                rng: np.random.Generator | None = None) -> np.ndarray:
    """One annotation as a model's input ``(num_person, clip_len, V, 3)`` float32: 3D clips
    centred (:func:`center_3d`), then :func:`prepare`, :func:`modality` and the part."""
    is_2d = np.asarray(ann["keypoint"]).shape[-1] == 2
    if not is_2d:
        ann = center_3d(ann, layout)
    x = prepare(ann, clip_len, num_person, rng=rng)
    x = modality(x, kind, layout, is_2d=is_2d)
    if part != "body":
        x = x * part_mask(layout, part)[:, None]
    return x


def batch_inputs(anns: list[dict[str, Any]], config: Any,
                 rng: np.random.Generator | None = None) -> np.ndarray:
    """Annotations as one batch ``(N, num_person, clip_len, V, 3)`` float32 for a model of
    ``config`` (a :class:`~posestack.actions.train.TrainConfig`: its layout, clip length,
    persons, modality and part), through :func:`model_input`."""
    return np.stack([model_input(a, layout=config.layout, clip_len=config.clip_len,
                                 num_person=config.num_person, kind=config.modality,
                                 part=config.part, rng=rng) for a in anns])


__all__ = ["MODALITIES", "batch_inputs", "center_3d", "modality", "model_input", "part_mask",
           "prepare"]
