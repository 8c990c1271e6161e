"""OKS-based AP and AR of COCO keypoint results, by a maintained library.

:func:`coco_keypoint_ap` scores a results file (a list of ``{image_id, category_id,
keypoints, score}``, as posestack's ``coco_results.json``) against a COCO annotation
file with ``faster-coco-eval`` (the ``eval`` extra), the C++ reimplementation of
``pycocotools``' COCOeval: OKS with the per-keypoint sigmas, AP over OKS 0.50:0.95,
AP50, AP75, AP and AR by area. The sigmas are COCO's for 17 keypoints, else the
skeleton's of the same keypoint count, else ``sigmas``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import numpy as np

from ..errors import InputError


def _read(path: Path, what: str):
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{what} {path} not found") from None
    except (OSError, ValueError) as e:
        raise InputError(f"{what} {path} is not readable json ({e})") from None


def _sigmas(k: int, given: np.ndarray | None) -> np.ndarray:
    if given is not None:
        s = np.asarray(given, np.float64)
        if s.shape != (k,):
            raise InputError(f"sigmas must hold {k} values (one per keypoint); got {s.shape}")
        return s
    from ..skeletons import get_skeleton

    for name in ("coco17", "halpe26", "coco_wholebody133"):
        sk = get_skeleton(name)
        if len(sk.keypoints) == k and sk.sigmas is not None:
            return np.asarray(sk.sigmas, np.float64)
    raise InputError(f"no OKS sigmas known for {k} keypoints: pass sigmas")


def coco_keypoint_ap(results: str | os.PathLike, annotations: str | os.PathLike,
                     sigmas: np.ndarray | None = None) -> dict[str, float]:
    """COCO keypoint AP/AR of ``results`` against ``annotations``.

    Args:
        results: a COCO results json (list of detections with ``keypoints`` as
            ``[x, y, v] * K`` pixels and a ``score``).
        annotations: a COCO annotation json (``images``, ``annotations`` with
            ``keypoints``, ``area``, ``bbox``; ``categories``).
        sigmas: ``(K,)`` per-keypoint OKS sigmas (default: as the module says).

    Returns:
        ``{"AP", "AP50", "AP75", "AP_medium", "AP_large", "AR", "AR50", "AR75",
        "AR_medium", "AR_large"}`` in [0, 1] (-1 where no annotation falls in a range).

    Raises:
        InputError: unreadable files, no annotations, results for images the
            annotations lack, or the library missing (``pip install 'posestack[eval]'``).
    """
    try:
        from faster_coco_eval import COCO, COCOeval_faster
    except ImportError:
        raise InputError("COCO AP needs faster-coco-eval: pip install 'posestack[eval]'"
                         ) from None
    res_path, ann_path = Path(results).expanduser(), Path(annotations).expanduser()
    dets = _read(res_path, "results")
    gt = _read(ann_path, "annotations")
    if not isinstance(gt, dict) or not gt.get("annotations"):
        raise InputError(f"{ann_path} is not a COCO annotation file with keypoints "
                         "(no 'annotations'); the results go first, the reference second")
    if not gt.get("categories"):
        raise InputError(f"{ann_path} has no 'categories' (a COCO annotation file lists the "
                         "person category and its keypoint names)")
    lacking = [a.get("id") for a in gt["annotations"]
               if "area" not in a or "keypoints" not in a or "bbox" not in a]
    if lacking:
        raise InputError(f"{len(lacking)} annotations of {ann_path.name} lack 'area', "
                         f"'bbox' or 'keypoints' (first id: {lacking[0]}); OKS needs each "
                         "person's area")
    if not isinstance(dets, list) or not dets:
        raise InputError(f"{res_path} holds no detections (a list of results is expected)")
    images = {im["id"] for im in gt.get("images", [])}
    stray = sorted({d.get("image_id") for d in dets} - images)
    if stray:
        raise InputError(f"{len(stray)} image ids of {res_path.name} are not in "
                         f"{ann_path.name} (first: {stray[:3]}): the results must use the "
                         "annotations' image ids (posestack's are frame indices)")
    k = len(gt["annotations"][0]["keypoints"]) // 3
    sig = _sigmas(k, sigmas)
    with contextlib.redirect_stdout(io.StringIO()):
        cg = COCO(gt)
        cd = cg.loadRes(dets)
        ev = COCOeval_faster(cg, cd, "keypoints", kpt_oks_sigmas=sig.tolist())
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    names = ("AP", "AP50", "AP75", "AP_medium", "AP_large", "AR", "AR50", "AR75",
             "AR_medium", "AR_large")
    return {n: float(v) for n, v in zip(names, ev.stats[:10], strict=True)}
