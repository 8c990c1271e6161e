"""Posecodes and descriptions of a posestack bundle: which 3D to read, what to write.

A bundle's 3D, in order of preference: ``keypoints3d.parquet`` (several cameras; world,
Z up), a fitted body's keypoints (``body/body_p<N>.npz``), BlazePose's world landmarks of
one camera (``keypoints3d_body.parquet``; body space, the camera's -Y taken as up).
Written beside the other tables: ``codes.parquet`` (frame, time, person, code, category,
kind, value), ``descriptions.parquet`` (person, start, end, frame_start, frame_end, text)
and ``descriptions.md``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..poses import Poses
from .codes import Codes, compute_codes, stabilize

CODES_FILE = "codes.parquet"
DESCRIPTIONS_FILE = "descriptions.parquet"
DESCRIPTIONS_MD = "descriptions.md"


@dataclass(frozen=True)
class Source:
    """The 3D a bundle's codes were computed from."""

    poses: Poses
    frames: np.ndarray
    file: str          # relative to the bundle
    note: str          # what it is, said in descriptions.md


def source_files(bundle: str | os.PathLike) -> list[Path]:
    """The file(s) :func:`load_3d` reads for a bundle (empty: no 3D)."""
    b = Path(bundle).expanduser()
    if (b / "keypoints3d.parquet").is_file():
        return [b / "keypoints3d.parquet"]
    bodies = sorted((b / "body").glob("body_p*.npz")) if (b / "body").is_dir() else []
    if bodies:
        return bodies
    if (b / "keypoints3d_body.parquet").is_file():
        return [b / "keypoints3d_body.parquet"]
    return []


def source_digest(bundle: str | os.PathLike) -> str:
    """SHA-256 over the bundle's 3D source files (what ``codes.parquet`` was made from)."""
    import hashlib

    from ..assets import sha256_file

    h = hashlib.sha256()
    for f in source_files(bundle):
        h.update(f"{f.name}\0{sha256_file(f)}\n".encode())
    return h.hexdigest()


def codes_are_current(bundle: str | os.PathLike) -> bool:
    """Whether the bundle's ``codes.parquet`` exists, reads, and was made from the 3D the
    bundle holds now (a rerun that replaced the keypoints makes it stale). Codes without
    any 3D beside them are taken as they are."""
    import pyarrow.parquet as pq

    f = Path(bundle) / CODES_FILE
    if not f.is_file():
        return False
    try:
        meta = pq.read_schema(f).metadata or {}
    except Exception:   # damaged: made again
        return False
    if not source_files(bundle):   # codes without their 3D (shared for search): as they are
        return True
    return meta.get(b"posestack.source_sha256", b"").decode() == source_digest(bundle)


def load_3d(bundle: str | os.PathLike) -> Source:
    """The best 3D of a bundle (see the module doc).

    Raises:
        InputError: not a folder, or a bundle without any 3D (a 2D-only run: the message
            says how to get 3D).
    """
    from ..pipeline import read_keypoints

    b = Path(bundle).expanduser()
    if not b.is_dir():
        raise InputError(f"{b} is not a bundle folder (posestack run ... -o OUT makes "
                         "OUT/<name>/)")
    if (b / "keypoints3d.parquet").is_file():
        poses, frames = read_keypoints(b / "keypoints3d.parquet")
        return Source(poses, frames, "keypoints3d.parquet",
                      "3D triangulated from several cameras (world axes, Z up)")
    bodies = sorted((b / "body").glob("body_p*.npz")) if (b / "body").is_dir() else []
    if bodies:
        return _from_body(bodies)
    if (b / "keypoints3d_body.parquet").is_file():
        poses, frames = read_keypoints(b / "keypoints3d_body.parquet")
        return Source(poses, frames, "keypoints3d_body.parquet",
                      "BlazePose's 3D world landmarks of one camera (up = the camera's up: "
                      "leans are exact for a level camera)")
    raise InputError(f"{b} has no 3D keypoints (keypoints3d.parquet, body/body_p*.npz or "
                     "keypoints3d_body.parquet): posecodes need 3D. Run BlazePose on the "
                     "video (its world landmarks), several calibrated cameras, or "
                     "`posestack body` on this bundle")


def _from_body(files: list[Path]) -> Source:
    from ..body.fit import read_body_npz
    from ..skeletons import get_skeleton

    fits = [read_body_npz(f) for f in files]
    skel = get_skeleton(fits[0].layout)
    frames = np.unique(np.concatenate([np.asarray(f.source_frames if f.source_frames
                                                  is not None else f.frames) for f in fits]))
    pos = {int(fr): i for i, fr in enumerate(frames)}
    T, P, K = len(frames), len(fits), len(skel)
    coords = np.full((T, P, K, 3), np.nan, np.float32)
    times = np.zeros(T)
    for p, f in enumerate(fits):
        src = f.source_frames if f.source_frames is not None else f.frames
        for j, fr in enumerate(src):
            coords[pos[int(fr)], p] = f.keypoints[j]
            times[pos[int(fr)]] = f.times[j]
    scores = np.isfinite(coords).all(-1).astype(np.float32)
    space = "world" if fits[0].residual_unit == "m" else "camera:body"
    return Source(Poses(skel, coords, scores, times, space, tracked=True), frames,
                  "body/" + files[0].name,
                  "a fitted body's keypoints" + ("" if space == "world" else
                                                 " (one camera: its -Y taken as up)"))


def write_codes(path: str | os.PathLike, table) -> None:
    """Write a codes table (code-major, as :meth:`Codes.to_table` gives) atomically, in
    row groups of 32,768 rows, so that a search skips the row groups of other codes."""
    import pyarrow.parquet as pq

    from ..io.atomic import atomic_path

    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", row_group_size=32_768)


def bundle_codes(bundle: str | os.PathLike, *, write: bool = True,
                 min_duration: float = 0.1) -> tuple[Codes, Source]:
    """Stabilized posecodes of a bundle's 3D (:func:`load_3d`); written to
    ``codes.parquet`` in the bundle when ``write``."""

    src = load_3d(bundle)
    codes = stabilize(compute_codes(src.poses), min_duration=min_duration)
    codes = Codes(codes.names, codes.values, codes.categories, codes.times, src.frames,
                  codes.skeleton)
    if write:
        table = codes.to_table().replace_schema_metadata({
            "posestack.source": src.file, "posestack.skeleton": codes.skeleton,
            "posestack.source_sha256": source_digest(bundle)})
        write_codes(Path(bundle) / CODES_FILE, table)
    return codes, src


@dataclass(frozen=True)
class Description:
    """One description of one person over ``start``–``end`` seconds (equal for a moment)."""

    person: int
    start: float
    end: float
    frame_start: int
    frame_end: int
    text: str


def describe_bundle(bundle: str | os.PathLike, *, person: int | None = None,
                    at: float | None = None, every: float | None = None,
                    seed: int | None = None, detail: int | None = None,
                    write: bool = True) -> list[Description]:
    """Descriptions of a bundle's people: stable segments (default), the pose at ``at``
    seconds, or one every ``every`` seconds. Writes ``codes.parquet``,
    ``descriptions.parquet`` and ``descriptions.md`` into the bundle when ``write``.

    Raises:
        InputError: no 3D in the bundle, ``at`` outside the clip, ``every`` ≤ 0, both
            ``at`` and ``every``, or a person the bundle does not have.
    """
    from .text import DETAIL, SEGMENT_DETAIL, describe_codes, segments

    if at is not None and every is not None:
        raise InputError("give --at or --every, not both")
    if every is not None and not every > 0:
        raise InputError(f"--every must be a positive number of seconds; got {every}")
    codes, src = bundle_codes(bundle, write=write)
    P = codes.values.shape[1]
    people = range(P) if person is None else [person]
    if person is not None and not 0 <= person < P:
        raise InputError(f"{Path(bundle).name} has people 0..{P - 1}; got --person {person}")
    T = len(codes.times)
    if T == 0:
        raise InputError(f"{Path(bundle).name}: the 3D has no frames")
    t0, t1 = float(codes.times[0]), float(codes.times[-1])
    out: list[Description] = []
    if at is not None or every is not None:
        if at is not None and not (t0 - 1e-6 <= at <= t1 + 1e-6):
            raise InputError(f"--at {at:g} s is outside the clip ({t0:g}–{t1:g} s)")
        instants = [at] if at is not None else list(np.arange(t0, t1 + 1e-9, every))
        for t in instants:
            i = int(np.argmin(np.abs(codes.times - t)))
            for p in people:
                cats = {n: c for n, (c, _) in codes.at(i, p).items()}
                if not cats:
                    continue
                out.append(Description(p, float(codes.times[i]), float(codes.times[i]),
                                       int(codes.frames[i]), int(codes.frames[i]),
                                       describe_codes(cats, detail=detail or DETAIL,
                                                      seed=seed)))
    else:
        for p in people:
            for s in segments(codes, p, detail=detail or SEGMENT_DETAIL, seed=seed):
                out.append(Description(p, s.start, s.end, s.frame_start, s.frame_end,
                                       s.text))
    if write:
        _write_descriptions(Path(bundle), out, src)
    return out


def _write_descriptions(bundle: Path, rows: list[Description], src: Source) -> None:
    import pyarrow as pa

    from ..io.atomic import atomic_path
    from ..io.tables import write_parquet

    write_parquet(bundle / DESCRIPTIONS_FILE, pa.table({
        "person": pa.array([r.person for r in rows], pa.int16()),
        "start": pa.array([r.start for r in rows], pa.float64()),
        "end": pa.array([r.end for r in rows], pa.float64()),
        "frame_start": pa.array([r.frame_start for r in rows], pa.int32()),
        "frame_end": pa.array([r.frame_end for r in rows], pa.int32()),
        "text": pa.array([r.text for r in rows], pa.string()),
    }))
    lines = [f"# {bundle.name}: what the people do", "",
             f"From {src.note} (`{src.file}`), by posestack's posecodes.", ""]
    for p in sorted({r.person for r in rows}):
        lines += [f"## Person {p}", ""]
        for r in (r for r in rows if r.person == p):
            when = (f"{r.start:.2f} s" if r.start == r.end else
                    f"{r.start:.2f}–{r.end:.2f} s")
            lines.append(f"- **{when}**: {r.text}")
        lines.append("")
    with atomic_path(bundle / DESCRIPTIONS_MD) as tmp:
        Path(tmp).write_text("\n".join(lines), encoding="utf-8")


def difference_in_bundle(bundle: str | os.PathLike, t_from: float, t_to: float, *,
                         person: int = 0, other: str | os.PathLike | None = None,
                         limit: int = 4, window: float = 0.1) -> str:
    """Instructions to go from the pose at ``t_from`` to the pose at ``t_to`` (in the
    ``other`` bundle, when given), for ``person``; each pose is the median of its codes
    over ``window`` seconds around the time (one bad frame does not decide)."""
    from .difference import difference, say

    ca, _ = bundle_codes(bundle, write=False)
    cb, _ = bundle_codes(other, write=False) if other is not None else (ca, None)
    pose = []
    for codes, t, name in ((ca, t_from, "--from"), (cb, t_to, "--to")):
        if not (codes.times[0] - 1e-6 <= t <= codes.times[-1] + 1e-6):
            raise InputError(f"{name} {t:g} s is outside the clip ({codes.times[0]:g}–"
                             f"{codes.times[-1]:g} s)")
        if not 0 <= person < codes.values.shape[1]:
            raise InputError(f"no person {person} (people 0..{codes.values.shape[1] - 1})")
        pose.append(_pose_around(codes, t, person, window))
    return say(difference(pose[0], pose[1], limit=limit))


def _pose_around(codes: Codes, t: float, person: int, window: float) -> dict:
    """A pose's codes at ``t``, robust to one bad frame: each code's median value and
    most frequent category over the frames within ``window`` seconds of ``t``."""
    from collections import Counter

    near = np.nonzero(np.abs(codes.times - t) <= window + 1e-9)[0]
    if near.size == 0:
        near = np.array([int(np.argmin(np.abs(codes.times - t)))])
    out = {}
    for i, n in enumerate(codes.names):
        cats = [c for c in codes.categories[near, person, i] if c]
        if len(cats) * 2 <= near.size:     # absent most of the window
            continue
        vals = codes.values[near, person, i]
        vals = vals[np.isfinite(vals)]
        out[n] = (Counter(cats).most_common(1)[0][0],
                  float(np.median(vals)) if vals.size else float("nan"))
    return out
