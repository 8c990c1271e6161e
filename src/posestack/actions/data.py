"""Skeleton action data: PYSKL annotation pickles, NTU ``.skeleton`` files, clips from bundles.

The PYSKL (and MMAction2) annotation pickle is ``{"split": {name: [frame_dir, ...]},
"annotations": [ann, ...]}``; each ``ann`` has ``frame_dir`` (str), ``total_frames``
(int), ``label`` (int), ``keypoint`` ``(M, T, V, C)`` (M persons, C = 2 or 3) and, for 2D,
``keypoint_score`` ``(M, T, V)`` and ``img_shape``/``original_shape`` ``(H, W)``. posestack
reads and writes that schema exactly; its own datasets add ``label_names`` (the class
names, index = label) at the top level, and ``source`` (bundle, person, start, end) and
``layout`` to each annotation, keys PYSKL ignores.

NTU RGB+D ``.skeleton`` files are read as the official MATLAB reader does (a stream of
numbers, whitespace-agnostic): per frame a body count, per body ten body fields and 25
joints of 12 fields (x y z depthX depthY colorX colorY orientation W X Y Z tracking state).
"""

from __future__ import annotations

import csv
import itertools
import math
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, OutputError
from .layouts import MODEL_LAYOUTS, to_model_layout

_REQUIRED = ("frame_dir", "total_frames", "label", "keypoint")


def check_annotation(ann: dict[str, Any], where: str = "annotation") -> None:
    """Raise InputError unless ``ann`` follows the PYSKL schema (see the module doc)."""
    if not isinstance(ann, dict):
        raise InputError(f"{where} is a {type(ann).__name__}, not a dict")
    missing = [k for k in _REQUIRED if k not in ann]
    if missing:
        raise InputError(f"{where} lacks {', '.join(missing)} (PYSKL annotations have "
                         f"{', '.join(_REQUIRED)})")
    kp = np.asarray(ann["keypoint"])
    if kp.ndim != 4 or kp.shape[-1] not in (2, 3):
        raise InputError(f"{where} ({ann['frame_dir']}): keypoint must be (M, T, V, C) with "
                         f"C = 2 or 3; got shape {kp.shape}")
    if kp.shape[1] != int(ann["total_frames"]):
        raise InputError(f"{where} ({ann['frame_dir']}): keypoint has {kp.shape[1]} frames but "
                         f"total_frames is {ann['total_frames']}")
    if "keypoint_score" in ann and np.asarray(ann["keypoint_score"]).shape != kp.shape[:3]:
        raise InputError(f"{where} ({ann['frame_dir']}): keypoint_score must be "
                         f"{kp.shape[:3]}; got {np.asarray(ann['keypoint_score']).shape}")


@dataclass(frozen=True)
class ActionData:
    """A PYSKL-style dataset: ``split`` name -> frame_dirs, the annotations, class names."""

    split: dict[str, list[str]]
    annotations: list[dict[str, Any]]
    label_names: list[str]


def read_pyskl(path: str | os.PathLike) -> ActionData:
    """Read a PYSKL / MMAction2 annotation pickle (or a posestack dataset).

    A pickle can run code when it is loaded: open only files from people you trust (the
    format is PYSKL's; posestack cannot make it safe).

    Raises:
        InputError: not a file, not a pickle, or not the schema (the message says what).
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise InputError(f"no such file: {p}")
    try:
        with p.open("rb") as f:
            data = pickle.load(f)
    except (pickle.UnpicklingError, EOFError, ValueError, AttributeError, ImportError) as e:
        raise InputError(f"{p} is not a readable pickle ({e}); a PYSKL annotation file is "
                         "a pickled dict with 'split' and 'annotations'") from None
    if isinstance(data, list):   # some tools save the annotation list alone
        data = {"split": {}, "annotations": data}
    if not isinstance(data, dict) or "annotations" not in data:
        raise InputError(f"{p}: expected a dict with 'split' and 'annotations' (PYSKL format)")
    anns = list(data["annotations"])
    for i, a in enumerate(anns):
        check_annotation(a, f"{p.name}: annotation {i}")
    split = {str(k): [str(x) for x in v] for k, v in dict(data.get("split", {})).items()}
    known = {a["frame_dir"] for a in anns}
    for k, v in split.items():
        unknown = [x for x in v if x not in known]
        if unknown:
            raise InputError(f"{p.name}: split {k!r} names {len(unknown)} unknown frame_dir(s), "
                             f"e.g. {unknown[0]!r}")
    n_cls = 1 + max((int(a["label"]) for a in anns), default=-1)
    names = [str(x) for x in data.get("label_names", [])] or [str(i) for i in range(n_cls)]
    return ActionData(split, anns, names)


def write_pyskl(path: str | os.PathLike, data: ActionData) -> Path:
    """Write a PYSKL annotation pickle atomically (with posestack's ``label_names``)."""
    from ..io.atomic import atomic_path

    for i, a in enumerate(data.annotations):
        check_annotation(a, f"annotation {i}")
    out = Path(path).expanduser()
    try:
        with atomic_path(out) as tmp, open(tmp, "wb") as f:
            pickle.dump({"split": data.split, "annotations": data.annotations,
                         "label_names": list(data.label_names)}, f, protocol=4)
    except OSError as e:
        raise OutputError(f"cannot write {out}: {e}") from None
    return out


@dataclass(frozen=True)
class NTUSkeleton:
    """One NTU ``.skeleton`` file: ``xyz (M, T, 25, 3)`` metres (Kinect camera space),
    ``color (M, T, 25, 2)`` RGB pixels, ``tracking (M, T, 25)`` joint tracking states,
    ``body_ids`` (M,), NaN/0 where a body is absent in a frame."""

    xyz: np.ndarray
    color: np.ndarray
    tracking: np.ndarray
    body_ids: tuple[int, ...]


def read_ntu_skeleton(path: str | os.PathLike) -> NTUSkeleton:
    """Read an NTU RGB+D ``.skeleton`` file (bodies are kept by their tracking id, in the
    order they first appear).

    Raises:
        InputError: not a file, or a file that ends early or holds something else (the
            message gives the frame).
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise InputError(f"no such file: {p}")
    tokens = p.read_text(errors="replace").split()
    pos = 0

    def take(n: int, frame: int) -> list[str]:
        nonlocal pos
        if pos + n > len(tokens):
            raise InputError(f"{p.name}: the file ends early (frame {frame}); is it an NTU "
                             ".skeleton file?")
        out = tokens[pos:pos + n]
        pos += n
        return out

    try:
        n_frames = int(take(1, 0)[0])
        frames: list[dict[int, np.ndarray]] = []
        order: list[int] = []
        for t in range(n_frames):
            bodies = {}
            for _ in range(int(take(1, t)[0])):
                body = take(10, t)
                bid = int(body[0])
                n_j = int(take(1, t)[0])
                joints = np.array(take(12 * n_j, t), dtype=np.float64).reshape(n_j, 12)
                if n_j != 25:
                    raise InputError(f"{p.name}: frame {t} has a body with {n_j} joints "
                                     "(NTU's Kinect bodies have 25)")
                bodies[bid] = joints
                if bid not in order:
                    order.append(bid)
            frames.append(bodies)
    except ValueError as e:
        raise InputError(f"{p.name}: not an NTU .skeleton file ({e})") from None
    M, T = len(order), n_frames
    xyz = np.full((M, T, 25, 3), np.nan, np.float32)
    color = np.full((M, T, 25, 2), np.nan, np.float32)
    track = np.zeros((M, T, 25), np.int8)
    for t, bodies in enumerate(frames):
        for bid, j in bodies.items():
            m = order.index(bid)
            xyz[m, t], color[m, t], track[m, t] = j[:, 0:3], j[:, 5:7], j[:, 11]
    return NTUSkeleton(xyz, color, track, tuple(order))


def ntu_annotation(path: str | os.PathLike, *, max_people: int = 2) -> dict[str, Any]:
    """A PYSKL 3D annotation of an NTU ``.skeleton`` file: the ``max_people`` bodies that
    move most (variance of their joints, as PYSKL ranks them), label from ``A###`` in the
    file name (``A### - 1``; -1 when the name has none), absent frames zero as in PYSKL."""
    import re

    p = Path(path)
    sk = read_ntu_skeleton(p)
    xyz = sk.xyz
    motion = [float(np.nansum(np.nanvar(b, axis=0))) if np.isfinite(b).any() else -1.0
              for b in xyz]
    keep = sorted(np.argsort(motion)[::-1][:max_people])
    kp = np.nan_to_num(xyz[keep], nan=0.0).astype(np.float16)
    m = re.search(r"A(\d{3})", p.stem)
    return {"frame_dir": p.stem.replace(".skeleton", ""), "total_frames": int(kp.shape[1]),
            "label": int(m.group(1)) - 1 if m else -1, "keypoint": kp}


# -- clips from bundles --------------------------------------------------------------------

def _bundle_poses(bundle: Path, dim: int):
    from ..pipeline import read_keypoints

    if dim == 3:
        for name in ("keypoints3d.parquet", "keypoints3d_body.parquet"):
            if (bundle / name).is_file():
                return read_keypoints(bundle / name)
        raise InputError(f"{bundle} has no 3D keypoints (keypoints3d.parquet or "
                         "keypoints3d_body.parquet); use --dim 2 or a 3D bundle")
    if not (bundle / "keypoints2d.parquet").is_file():
        raise InputError(f"{bundle} has no keypoints2d.parquet: is it a posestack bundle? "
                         "(a multi-camera bundle has 3D only: build datasets from it with "
                         "--dim 3 and use a 3D model)")
    return read_keypoints(bundle / "keypoints2d.parquet")


def _image_shape(bundle: Path) -> tuple[int, int] | None:
    import json

    try:
        inp = json.loads((bundle / "manifest.json").read_text())["input"]
        return int(inp["height"]), int(inp["width"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _no_bundle(path: Path) -> str:
    """Why ``path`` is not a bundle folder, for an error message."""
    hint = " (that is a file: give the folder 'posestack run' wrote for it)" \
        if path.is_file() else ""
    return f"no such bundle: {path}{hint}"


def bundle_clip(bundle: str | os.PathLike, person: int, start: float, end: float, *,
                label: int = -1, layout: str = "coco", dim: int = 2,
                frame_dir: str | None = None) -> dict[str, Any]:
    """One person's stretch ``start <= t < end`` (seconds) of a bundle as a PYSKL
    annotation in a model layout (``keypoint (1, T, V, dim)``, missing points 0 as PYSKL
    stores them; 2D adds ``keypoint_score`` and ``img_shape``).

    Raises:
        InputError: no such bundle, no such person, times outside the video or empty, or a
            layout that cannot be mapped.
    """
    b = Path(bundle).expanduser()
    if not b.is_dir():
        raise InputError(_no_bundle(b))
    if dim not in (2, 3):
        raise InputError(f"dim must be 2 or 3; got {dim}")
    if not (math.isfinite(start) and math.isfinite(end) and end > start >= 0):
        raise InputError(f"{b.name}: need 0 <= start < end; got {start:g}..{end:g} s")
    poses, frames = _bundle_poses(b, dim)
    if not 0 <= person < poses.n_people:
        if poses.n_people == 0:
            raise InputError(f"nobody was detected in {b.name}; got person {person}")
        raise InputError(f"{b.name} has people 0..{poses.n_people - 1}; got person {person}")
    t0, t1 = float(poses.times[0]), float(poses.times[-1])
    dt = float(np.median(np.diff(poses.times))) if poses.n_frames > 1 else 0.0
    if start < t0 - 1.5 * dt - 1e-6 or end > t1 + 1.5 * dt + 1e-6:   # half a frame's slack
        raise InputError(f"{b.name}: {start:g}–{end:g} s is outside the video "
                         f"({t0:g}–{t1 + dt:g} s)")
    sel = (poses.times >= start - 1e-9) & (poses.times < end - 1e-9)
    if not sel.any():
        raise InputError(f"{b.name}: no frame in {start:g}–{end:g} s")
    coords, scores = to_model_layout(poses, layout)
    kp = coords[person:person + 1, sel]
    sc = scores[person:person + 1, sel]
    if not (sc > 0).any():
        raise InputError(f"{b.name}: person {person} is not seen in {start:g}–{end:g} s")
    ann: dict[str, Any] = {
        "frame_dir": frame_dir or f"{b.name}_p{person}_{start:.2f}-{end:.2f}",
        "total_frames": int(kp.shape[1]), "label": int(label),
        "keypoint": np.nan_to_num(kp[..., :dim], nan=0.0).astype(np.float32),
        "layout": layout,
        "source": {"bundle": str(b), "person": int(person), "start": float(start),
                   "end": float(end), "frames": [int(frames[sel][0]), int(frames[sel][-1])]},
    }
    if dim == 2:
        ann["keypoint_score"] = sc.astype(np.float32)
        shape = _image_shape(b)
        if shape:
            ann["img_shape"] = ann["original_shape"] = shape
    return ann


def read_labels(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Rows of a labels CSV: ``bundle, person, start, end, label`` (and optionally
    ``split``); bundle paths relative to the CSV's folder. Checks the columns and values
    and that one person's labelled stretches in one bundle do not overlap."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise InputError(f"no such labels file: {p}")
    with p.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        cols = [c.strip() for c in (reader.fieldnames or [])]
        need = ["bundle", "person", "start", "end", "label"]
        missing = [c for c in need if c not in cols]
        if missing:
            raise InputError(f"{p.name}: needs the columns {', '.join(need)} (and optionally "
                             f"split); missing {', '.join(missing)} (has {', '.join(cols)})")
        rows = []
        for i, r in enumerate(reader, start=2):
            r = {k.strip(): (v or "").strip() for k, v in r.items() if k}
            try:
                row = {"bundle": (p.parent / r["bundle"]).resolve() if not Path(
                    r["bundle"]).is_absolute() else Path(r["bundle"]),
                       "person": int(r["person"]), "start": float(r["start"]),
                       "end": float(r["end"]), "label": r["label"],
                       "split": r.get("split", ""), "line": i}
            except ValueError as e:
                raise InputError(f"{p.name}, line {i}: {e} (person is an integer, start "
                                 "and end are seconds)") from None
            if not row["label"]:
                raise InputError(f"{p.name}, line {i}: empty label")
            rows.append(row)
    if not rows:
        raise InputError(f"{p.name} has no labelled rows")
    by_key: dict[tuple, list[dict]] = {}
    for r in rows:
        by_key.setdefault((str(r["bundle"]), r["person"]), []).append(r)
    for (bundle, person), rs in by_key.items():
        rs.sort(key=lambda r: r["start"])
        for a, b in itertools.pairwise(rs):
            if b["start"] < a["end"] - 1e-9:
                raise InputError(f"{p.name}, lines {a['line']} and {b['line']}: the labels of "
                                 f"person {person} in {Path(bundle).name} overlap "
                                 f"({a['start']:g}–{a['end']:g} s and {b['start']:g}–"
                                 f"{b['end']:g} s)")
    return rows


def dataset_from_labels(labels: str | os.PathLike, *, layout: str = "coco", dim: int = 2,
                        val_fraction: float = 0.2, seed: int = 0) -> ActionData:
    """A PYSKL dataset from a labels CSV (see :func:`read_labels`): one annotation per row
    (:func:`bundle_clip`); labels numbered in sorted order of their names. Rows with a
    ``split`` value go to that split; the others are split per class into ``train`` and
    ``val`` (about ``val_fraction`` of each class, at least one when a class has two or
    more clips), reproducibly for ``seed``. Every row is checked before any is built.
    """
    if layout not in MODEL_LAYOUTS:
        raise InputError(f"unknown layout {layout!r}; valid: {', '.join(MODEL_LAYOUTS)}")
    if not 0 <= val_fraction < 1:
        raise InputError(f"val_fraction must be in [0, 1); got {val_fraction}")
    rows = read_labels(labels)
    for r in rows:
        if not Path(r["bundle"]).is_dir():
            raise InputError(f"{Path(labels).name}, line {r['line']}: "
                             f"{_no_bundle(Path(r['bundle']))}")
    names = sorted({r["label"] for r in rows})
    anns = []
    for r in rows:
        try:
            anns.append(bundle_clip(r["bundle"], r["person"], r["start"], r["end"],
                                    label=names.index(r["label"]), layout=layout, dim=dim,
                                    frame_dir=f"{Path(r['bundle']).name}_p{r['person']}_"
                                              f"{r['start']:.2f}-{r['end']:.2f}"))
        except InputError as e:
            raise InputError(f"{Path(labels).name}, line {r['line']}: {e}") from None
    dirs = [a["frame_dir"] for a in anns]
    dupes = sorted({d for d in dirs if dirs.count(d) > 1})
    if dupes:
        raise InputError(f"{Path(labels).name}: the same clip is labelled twice: {dupes[0]}")
    split: dict[str, list[str]] = {}
    rng = np.random.default_rng(seed)
    free: dict[int, list[str]] = {}
    for r, a in zip(rows, anns, strict=True):
        if r["split"]:
            split.setdefault(r["split"], []).append(a["frame_dir"])
        else:
            free.setdefault(a["label"], []).append(a["frame_dir"])
    for _, ds in sorted(free.items()):
        ds = list(ds)
        rng.shuffle(ds)
        n_val = round(val_fraction * len(ds))
        if val_fraction > 0 and len(ds) >= 2:
            n_val = max(1, n_val)
        split.setdefault("val", []).extend(ds[:n_val])
        split.setdefault("train", []).extend(ds[n_val:])
    return ActionData(split, anns, names)


__all__ = ["ActionData", "NTUSkeleton", "bundle_clip", "check_annotation",
           "dataset_from_labels", "ntu_annotation", "read_labels", "read_ntu_skeleton",
           "read_pyskl", "write_pyskl"]

