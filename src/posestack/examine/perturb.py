"""Image perturbations with a continuous severity (1 to 5, as ImageNet-C and COCO-C).

Each :class:`Perturbation` maps a severity ``s`` (a real number; 1 mild, 5 severe) to
a parameter in its own unit, geometric between the five listed values, and applies it
to an RGB frame. Some change where things are in the image (rotation, resolution,
crop); :func:`apply` then also returns how to map the estimator's keypoints back into
the original frame, and which reference keypoints can still be seen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import InputError

#: body parts an occluding patch can cover, by keypoint name
PARTS = {
    "head": ("nose", "left_eye", "right_eye", "left_ear", "right_ear"),
    "torso": ("left_shoulder", "right_shoulder", "left_hip", "right_hip"),
    "left_arm": ("left_shoulder", "left_elbow", "left_wrist"),
    "right_arm": ("right_shoulder", "right_elbow", "right_wrist"),
    "left_leg": ("left_hip", "left_knee", "left_ankle"),
    "right_leg": ("right_hip", "right_knee", "right_ankle"),
}


@dataclass(frozen=True)
class Perturbation:
    """A named perturbation: ``levels`` are the parameter at severities 1–5, in
    ``unit``; ``part`` is the body part for occlusions."""

    name: str
    levels: tuple[float, float, float, float, float]
    unit: str
    part: str | None = None

    def parameter(self, severity: float) -> float:
        """The parameter at a real ``severity`` in [1, 5] (geometric between levels)."""
        s = float(np.clip(severity, 1.0, 5.0))
        i = min(int(np.floor(s)) - 1, 3)
        a, b = self.levels[i], self.levels[i + 1]
        f = s - (i + 1)
        if a > 0 and b > 0:
            return float(a * (b / a) ** f)
        return float(a + (b - a) * f)


BASE = {
    "blur": Perturbation("blur", (1.0, 2.0, 4.0, 8.0, 16.0), "px (Gaussian sigma)"),
    "noise": Perturbation("noise", (8.0, 16.0, 32.0, 64.0, 128.0),
                          "grey levels (Gaussian sigma)"),
    "jpeg": Perturbation("jpeg", (30.0, 15.0, 8.0, 4.0, 2.0), "JPEG quality"),
    "dark": Perturbation("dark", (0.5, 0.3, 0.15, 0.08, 0.04), "brightness factor"),
    "contrast": Perturbation("contrast", (0.5, 0.3, 0.15, 0.08, 0.04), "contrast factor"),
    "rotate": Perturbation("rotate", (15.0, 30.0, 60.0, 90.0, 180.0), "degrees"),
    "resolution": Perturbation("resolution", (0.5, 0.35, 0.25, 0.15, 0.1), "scale"),
    "crop": Perturbation("crop", (0.9, 0.8, 0.7, 0.6, 0.5), "share of the height kept"),
}
OCCLUDE_LEVELS = (1.0, 1.25, 1.5, 2.0, 3.0)  # the patch: the part's box, grown by this


def get(name: str) -> Perturbation:
    """A perturbation by name: one of :data:`BASE`, or ``occlude:<part>`` (a grey patch
    over a body part of :data:`PARTS`, its box grown by 1 to 3 times).

    Raises:
        InputError: an unknown name or part.
    """
    if name.startswith("occlude:"):
        part = name.split(":", 1)[1]
        if part not in PARTS:
            raise InputError(f"unknown body part {part!r} for occlude; valid: "
                             f"{', '.join(PARTS)}")
        return Perturbation(name, OCCLUDE_LEVELS, "times the part's box", part)
    if name not in BASE:
        raise InputError(f"unknown perturbation {name!r}; valid: {', '.join(BASE)}, "
                         f"occlude:<{'|'.join(PARTS)}>")
    return BASE[name]


MapBack = Callable[[np.ndarray], np.ndarray]


def apply(p: Perturbation, rgb: np.ndarray, severity: float, ref_xy: np.ndarray | None = None,
          names: tuple[str, ...] = (), seed: int = 0
          ) -> tuple[np.ndarray, MapBack, np.ndarray | None]:
    """``rgb`` perturbed at ``severity``.

    Args:
        p: the perturbation.
        rgb: ``(H, W, 3)`` uint8.
        severity: 1 to 5 (real).
        ref_xy: ``(K, 2)`` the reference person's keypoints (pixels), for occlusions
            and for which keypoints a crop leaves in view.
        names: the K keypoint names (for occlusions).
        seed: the noise's random seed (the same frame and severity: the same noise).

    Returns:
        ``(image, back, visible)``: the perturbed image (uint8, any size), a function
        taking ``(..., 2)`` keypoints found in it to the original frame's pixels, and
        ``(K,)`` the reference keypoints still in view (None: all).
    """
    v = p.parameter(severity)
    h, w = rgb.shape[:2]
    same: MapBack = lambda xy: xy  # noqa: E731
    match p.name.split(":")[0]:
        case "blur":
            return cv2.GaussianBlur(rgb, (0, 0), sigmaX=v), same, None
        case "noise":
            rng = np.random.default_rng(seed)
            noisy = rgb.astype(np.float32) + rng.normal(0, v, rgb.shape).astype(np.float32)
            return np.clip(noisy, 0, 255).astype(np.uint8), same, None
        case "jpeg":
            _, buf = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY,
                                                           max(1, round(v))])
            return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].copy(), same, None
        case "dark":
            return np.clip(rgb.astype(np.float32) * v, 0, 255).astype(np.uint8), same, None
        case "contrast":
            mean = rgb.reshape(-1, 3).mean(0)
            out = (rgb.astype(np.float32) - mean) * v + mean
            return np.clip(out, 0, 255).astype(np.uint8), same, None
        case "rotate":
            m = cv2.getRotationMatrix2D((w / 2, h / 2), v, 1.0)
            out = cv2.warpAffine(rgb, m, (w, h), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT)
            inv = cv2.invertAffineTransform(m)

            def back(xy: np.ndarray) -> np.ndarray:
                return xy @ inv[:, :2].T + inv[:, 2]

            vis = None
            if ref_xy is not None:
                q = ref_xy @ m[:, :2].T + m[:, 2]
                vis = (q[:, 0] >= 0) & (q[:, 0] < w) & (q[:, 1] >= 0) & (q[:, 1] < h)
            return out, back, vis
        case "resolution":
            sw, sh = max(8, round(w * v)), max(8, round(h * v))
            out = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA)
            return out, (lambda xy: xy * [w / sw, h / sh]), None
        case "crop":
            keep = max(8, round(h * v))
            vis = None if ref_xy is None else ref_xy[:, 1] < keep
            return rgb[:keep].copy(), same, vis
        case "occlude":
            if ref_xy is None:
                raise InputError("occlusions need the reference keypoints")
            idx = [i for i, n in enumerate(names) if n in PARTS[p.part] and
                   np.isfinite(ref_xy[i]).all()]
            out = rgb.copy()
            if idx:
                pts = ref_xy[idx]
                body = ref_xy[np.isfinite(ref_xy).all(1)]
                pad = 0.06 * float(np.ptp(body[:, 1])) if len(body) > 1 else 10.0
                lo, hi = pts.min(0) - pad, pts.max(0) + pad
                c, half = (lo + hi) / 2, (hi - lo) / 2 * v
                x0, y0 = np.floor(c - half).astype(int)
                x1, y1 = np.ceil(c + half).astype(int)
                out[max(0, y0):max(0, y1), max(0, x0):max(0, x1)] = 128
            return out, same, None
    raise InputError(f"unknown perturbation {p.name!r}")  # pragma: no cover
