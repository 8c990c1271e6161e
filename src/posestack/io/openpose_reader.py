"""Read folders of OpenPose-style per-frame json files into :class:`~posestack.poses.Poses`.

One folder holds one camera: one json file per frame, as OpenPose
(``<name>_<frame:012d>_keypoints.json``), Pose2Sim, rtmlib, Sports2D and our own
:func:`posestack.io.formats.write_openpose` write them. Any ``*.json`` name that
contains a number is accepted; the frame index is the **last** number in the
name (without ``.json``), as Pose2Sim sorts them, and files are read in frame
order. Gaps in the numbering are kept: ``times = frame / fps``.

Content: ``{"people": [{"pose_keypoints_2d": [x0, y0, c0, x1, y1, c1, ...]}, ...]}``
(OpenPose before 1.2 named the list ``pose_keypoints``; that is read too).
Pixels, origin top-left. A keypoint with ``c <= 0``, with ``x == y == 0`` (how
OpenPose marks a point it did not find) or with a non-finite value is missing:
NaN coordinates and score 0. Scores above 1 (some RTMPose exports) are clipped
to 1, with a warning in the log. The person axis follows the order of
``people`` in each file, padded with missing people; it is not a track
(``tracked=False``). An empty ``people`` list is a frame with nobody.

Layouts with ``skeleton="auto"`` are chosen from K, the number of keypoints:
17 -> coco17, 26 -> halpe26, 33 -> blazepose33, 133 -> coco_wholebody133.
K = 25 is OpenPose's BODY_25 or BODY_25B, which order the points differently;
it is decided from the geometry of the points
(:func:`~posestack.io.layout_detect.detect_body25_layout`: where the neck, the
eyes and the shoulders lie), over every person of every file read together, and
when that does not decide, reading stops with an error that asks for the layout.
What was decided and why is logged and kept in ``poses.meta["layout"]``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..poses import Poses
from ..skeletons import Skeleton, get_skeleton
from .layout_detect import detect_body25_layout

__all__ = ["AMBIGUOUS_K", "AUTO_LAYOUTS", "read_openpose_folder", "read_openpose_folders"]

log = logging.getLogger(__name__)

# K -> layout for skeleton="auto".
AUTO_LAYOUTS: dict[int, str] = {
    17: "coco17",
    26: "halpe26",
    33: "blazepose33",
    133: "coco_wholebody133",
}

# K -> the layouts it can be; skeleton="auto" decides among them from the geometry.
AMBIGUOUS_K: dict[int, tuple[str, ...]] = {25: ("body25", "body25b")}

_NUMBER = re.compile(r"\d+")


def _frame_files(folder: Path) -> tuple[list[Path], np.ndarray]:
    if not folder.exists():
        raise InputError(f"no such folder: {folder}")
    if not folder.is_dir():
        raise InputError(f"not a folder: {folder} (give the folder of per-frame json files)")
    files = [f for f in folder.iterdir() if f.suffix.lower() == ".json" and f.is_file()]
    if not files:
        raise InputError(f"no .json files in {folder}; expected one OpenPose json per frame")
    by_frame: dict[int, Path] = {}
    for f in files:
        numbers = _NUMBER.findall(f.stem)
        if not numbers:
            raise InputError(
                f"cannot tell the frame of {f}: its name has no number "
                f"(expected names like <name>_<frame>_keypoints.json); move it out of {folder}"
            )
        frame = int(numbers[-1])
        if frame in by_frame:
            a, b = sorted([by_frame[frame].name, f.name])
            raise InputError(f"{folder}: {a} and {b} both have frame number {frame}")
        by_frame[frame] = f
    order = sorted(by_frame)
    return [by_frame[i] for i in order], np.array(order, dtype=np.int64)


def _people(path: Path) -> list[np.ndarray]:
    """The flat keypoint arrays of one file, one per person in file order."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read OpenPose json {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("people"), list):
        raise InputError(
            f"{path} is not an OpenPose json: expected an object with a 'people' list"
        )
    out = []
    for i, person in enumerate(data["people"]):
        flat: Any = None
        if isinstance(person, dict):
            flat = person.get("pose_keypoints_2d", person.get("pose_keypoints"))
        if not isinstance(flat, list):
            raise InputError(f"{path}: people[{i}] has no 'pose_keypoints_2d' list")
        try:
            arr = np.array(flat, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"{path}: people[{i}].pose_keypoints_2d holds non-numbers") from None
        if arr.ndim != 1 or arr.size % 3:
            raise InputError(
                f"{path}: people[{i}].pose_keypoints_2d must be a flat list [x, y, c] * K; "
                f"got {arr.size} value(s)"
            )
        out.append(arr)
    return out


def _flat_people(people: list[list[np.ndarray]], k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(N, k, 2)`` pixels and ``(N, k)`` scores of every listed person with k points."""
    rows = [a.reshape(k, 3) for p in people for a in p if a.size == 3 * k]
    if not rows:
        return np.zeros((0, k, 2)), np.zeros((0, k))
    xyc = np.stack(rows)
    x, y, c = xyc[..., 0], xyc[..., 1], xyc[..., 2]
    ok = np.isfinite(xyc).all(-1) & (c > 0) & ~((x == 0) & (y == 0))
    return np.where(ok[..., None], xyc[..., :2], np.nan), np.where(ok, c, 0.0)


def _resolve_skeleton(skeleton: str | Skeleton, people: list[list[np.ndarray]],
                      where: str) -> tuple[Skeleton, dict[str, Any]]:
    """The layout to read ``people`` (every file's flat arrays) with, and how it was chosen."""
    if not (isinstance(skeleton, str) and skeleton.strip().lower() == "auto"):
        skel = get_skeleton(skeleton)
        return skel, {"name": skel.name, "chosen": "given"}
    ks = {a.size // 3 for p in people for a in p if a.size}
    if not ks:
        raise InputError(
            f"skeleton='auto': no person in any file of {where}, so K is unknown; "
            f"name the skeleton (e.g. 'halpe26')"
        )
    if len(ks) > 1:
        raise InputError(
            f"{where}: files disagree on the number of keypoints ({sorted(ks)}); "
            f"they are not one layout"
        )
    (k,) = ks
    if k in AMBIGUOUS_K:
        xy, sc = _flat_people(people, k)
        guess = detect_body25_layout(xy, sc)
        if guess.layout is None:
            names = AMBIGUOUS_K[k]
            raise InputError(
                f"{where}: {k} keypoints per person is OpenPose {' or '.join(names)}, "
                f"whose points are in different orders, and {guess.describe()}; give the "
                f"layout: --layout {' or --layout '.join(names)} (skeleton="
                f"{' or '.join(repr(n) for n in names)} in Python)"
            )
        log.info("%s: %s", where, guess.describe())
        return get_skeleton(guess.layout), {
            "name": guess.layout, "chosen": "detected from the keypoint geometry",
            "votes": guess.votes, "detections_judged": guess.detections,
            "median_residual": round(guess.residual, 4)}
    if k not in AUTO_LAYOUTS:
        known = ", ".join(f"{n} -> {name}" for n, name in AUTO_LAYOUTS.items())
        known += "".join(f", {n} -> {' or '.join(v)}" for n, v in AMBIGUOUS_K.items())
        raise InputError(
            f"skeleton='auto': no known layout has K={k} keypoints ({known}); "
            f"name the skeleton"
        )
    return get_skeleton(AUTO_LAYOUTS[k]), {"name": AUTO_LAYOUTS[k],
                                           "chosen": f"from the number of keypoints ({k})"}


def _check_reader_args(fps: float, max_people: int | None) -> float:
    try:
        rate = float(fps)
    except (TypeError, ValueError):
        rate = math.nan
    if not (math.isfinite(rate) and rate > 0):
        raise InputError(f"fps must be a positive number of frames per second; got {fps!r}")
    if max_people is not None and (
        isinstance(max_people, bool)
        or not isinstance(max_people, (int, np.integer))
        or max_people < 1
    ):
        raise InputError(f"max_people must be a positive integer or None; got {max_people!r}")
    return rate


def _read_raw(folder: Path, max_people: int | None
              ) -> tuple[list[Path], np.ndarray, list[list[np.ndarray]]]:
    files, frames = _frame_files(folder)
    people = [_people(f) for f in files]
    if max_people is not None:
        people = [p[: int(max_people)] for p in people]
    return files, frames, people


def _to_poses(folder: Path, files: list[Path], frames: np.ndarray,
              people: list[list[np.ndarray]], skel: Skeleton, rate: float,
              camera: str | None, layout: dict[str, Any]) -> Poses:
    k = len(skel)
    items = []
    n_clipped = 0
    for f, persons in zip(files, people, strict=True):
        coords = np.full((len(persons), k, 2), np.nan, dtype=np.float64)
        scores = np.zeros((len(persons), k), dtype=np.float64)
        for i, arr in enumerate(persons):
            if arr.size == 0:  # a person listed without keypoints: all missing
                continue
            if arr.size != 3 * k:
                n = arr.size // 3
                fits = AUTO_LAYOUTS.get(n) or " or ".join(AMBIGUOUS_K.get(n, ()))
                hint = f" (K={n} is {fits}, or pass skeleton='auto')" if fits else ""
                raise InputError(
                    f"{f}: people[{i}] has {n} keypoints ({arr.size} values) but skeleton "
                    f"{skel.name} has {k}{hint}"
                )
            xyc = arr.reshape(k, 3)
            x, y, c = xyc[:, 0], xyc[:, 1], xyc[:, 2]
            ok = np.isfinite(xyc).all(axis=1) & (c > 0) & ~((x == 0) & (y == 0))
            n_clipped += int((ok & (c > 1)).sum())
            coords[i, ok] = xyc[ok, :2]
            scores[i, ok] = np.minimum(c[ok], 1.0)
        items.append((coords, scores))
    if n_clipped:
        log.warning("%s: %d keypoint score(s) above 1 clipped to 1", folder, n_clipped)

    name = camera if camera is not None else (folder.name or folder.resolve().name)
    return Poses.from_frames(
        skel,
        items,
        frames / rate,
        f"image:{name}",
        dim=2,
        tracked=False,
        meta={"source": str(folder), "format": "openpose_json", "layout": layout},
    )


def read_openpose_folder(
    folder: str | os.PathLike,
    skeleton: str | Skeleton,
    *,
    fps: float,
    camera: str | None = None,
    max_people: int | None = None,
) -> tuple[Poses, np.ndarray]:
    """Read one camera's folder of per-frame OpenPose json files.

    Args:
        folder: the folder (e.g. OpenPose's ``--write_json`` output, Pose2Sim's
            ``pose/<cam>_json``).
        skeleton: the layout of ``pose_keypoints_2d`` (a :class:`Skeleton` or
            name), or ``"auto"`` to choose it from K (see the module docstring).
        fps: frames per second of the source; ``times = frame / fps``.
        camera: camera name for ``space = "image:<camera>"``; default the
            folder's name.
        max_people: keep at most this many people per frame (the first ones in
            each file).

    Returns:
        ``(poses, frames)``: 2D :class:`Poses` in ``"image:<camera>"`` space with
        P = the most people in any frame (at most ``max_people``), and the
        ``(T,)`` int64 frame numbers read from the file names.

    Raises:
        InputError: missing or empty folder, a json name without a number, two
            files with one frame number, unreadable or malformed json (the
            message names the file), K not matching the skeleton, bad ``fps``
            or ``max_people``.
    """
    folder = Path(folder)
    rate = _check_reader_args(fps, max_people)
    files, frames, people = _read_raw(folder, max_people)
    skel, layout = _resolve_skeleton(skeleton, people, str(folder))
    return _to_poses(folder, files, frames, people, skel, rate, camera, layout), frames


def read_openpose_folders(
    folders: Sequence[str | os.PathLike],
    skeleton: str | Skeleton,
    *,
    fps: float,
    cameras: Sequence[str] | None = None,
    max_people: int | None = None,
) -> list[tuple[Poses, np.ndarray]]:
    """:func:`read_openpose_folder` for several cameras, in the order given.

    ``cameras`` gives one name per folder (default: the folder names). With
    ``skeleton="auto"`` every folder must hold the same number of keypoints, and
    one layout is chosen for all of them (for K = 25, from the geometry of every
    folder's people together).
    """
    if isinstance(folders, (str, os.PathLike)):
        raise InputError("folders must be a list of folders; for one folder use "
                         "read_openpose_folder")
    folders = list(folders)
    if not folders:
        raise InputError("folders is empty; give at least one folder")
    if cameras is not None:
        cameras = list(cameras)
        if len(cameras) != len(folders):
            raise InputError(
                f"cameras must name each folder: got {len(cameras)} name(s) for "
                f"{len(folders)} folder(s)"
            )
    rate = _check_reader_args(fps, max_people)
    raws = [_read_raw(Path(f), max_people) for f in folders]
    auto = isinstance(skeleton, str) and skeleton.strip().lower() == "auto"
    if auto:
        found = {}
        for f, (_, _, people) in zip(folders, raws, strict=True):
            ks = sorted({a.size // 3 for p in people for a in p if a.size})
            if len(ks) > 1:
                raise InputError(f"{f}: files disagree on the number of keypoints ({ks}); "
                                 "they are not one layout")
            for k in ks:
                name = AUTO_LAYOUTS.get(k) or "/".join(AMBIGUOUS_K.get(k, ())) or f"K={k}"
                found.setdefault(name, []).append(Path(f).name)
        if len(found) > 1:
            listed = ", ".join(f"{f}: {name}" for name, fs in found.items() for f in fs)
            raise InputError(f"the folders hold different layouts ({listed}); name the "
                             "skeleton")
    # one decision for all folders (the geometry test pools every camera's people)
    everyone = [p for _, _, people in raws for p in people]
    where = (str(folders[0]) if len(folders) == 1
             else f"{len(folders)} folders ({', '.join(Path(f).name for f in folders)})")
    skel, layout = _resolve_skeleton(skeleton, everyone, where)
    return [
        (_to_poses(Path(f), files, frames, people, skel, rate,
                   None if cameras is None else cameras[i], layout), frames)
        for i, (f, (files, frames, people)) in enumerate(zip(folders, raws, strict=True))
    ]
