"""``Poses``: an immutable container of keypoint tracks.

A :class:`Poses` holds keypoints for T frames, P people and the K keypoints of
one :class:`~posestack.skeletons.Skeleton`, in D = 2 or 3 dimensions:

* ``coords``  float32 ``(T, P, K, D)``, NaN where a keypoint is missing;
* ``scores``  float32 ``(T, P, K)`` in [0, 1], 0 where missing;
* ``times``   float64 ``(T,)`` seconds, non-decreasing;
* ``space``   the coordinate frame: ``"image:<cam>"`` (pixels, D = 2),
  ``"camera:<cam>"`` (camera frame, D = 3), ``"body"`` or ``"world"`` (D = 3).

The object owns read-only copies of its arrays: arrays passed in are copied,
never modified, and later changes to them do not affect the object. Every
method returns a new object.

Example (one frame, one person, BlazePose-33 → COCO-17)::

    >>> import numpy as np
    >>> from posestack.poses import Poses
    >>> xy = np.zeros((1, 1, 33, 2)); xy[0, 0, :, 0] = np.arange(33)
    >>> p = Poses("blazepose33", xy, np.ones((1, 1, 33)), np.array([0.0]), "image:cam0")
    >>> c = p.to_skeleton("coco17")
    >>> c.coords.shape, float(c.coords[0, 0, 1, 0])   # COCO left_eye = BlazePose 2
    ((1, 1, 17, 2), 2.0)
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from posestack.errors import InputError
from posestack.skeletons import Skeleton, get_skeleton, keypoint_map

__all__ = ["Poses"]

# <cam>: any camera name (e.g. a video file stem) that is not blank, has no
# leading/trailing whitespace and no control characters.
_SPACE_RE = re.compile(
    r"^(?:(?P<kind>image|camera):(?P<cam>[^\x00-\x1f\x7f\s](?:[^\x00-\x1f\x7f]*"
    r"[^\x00-\x1f\x7f\s])?)|body|world)$"
)
_SPACE_HELP = (
    "'image:<cam>' (D=2), 'camera:<cam>' (D=3), 'body' (D=3) or 'world' (D=3), "
    "where <cam> is a non-blank camera name"
)


def _float_array(value: Any, dtype: type, what: str) -> np.ndarray:
    """A fresh, owned array of ``dtype`` (never a view of the caller's data)."""
    try:
        return np.array(value, dtype=dtype, copy=True)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what} must be a numeric array; could not convert it ({exc})") from None


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def _space_dim(space: str) -> int:
    """Required D for a space string (validating it)."""
    if not isinstance(space, str):
        raise InputError(f"space must be a string: {_SPACE_HELP}; got {type(space).__name__}")
    m = _SPACE_RE.fullmatch(space)
    if m is None:
        raise InputError(f"space must be one of {_SPACE_HELP}; got {space!r}")
    return 2 if m.group("kind") == "image" else 3


@dataclass(frozen=True, eq=False)
class Poses:
    """Keypoints of P people over T frames in one skeleton layout.

    Attributes:
        skeleton: the keypoint layout (a :class:`Skeleton` or a registry name).
        coords: ``(T, P, K, D)`` float32 coordinates, NaN where missing. Units
            depend on ``space``: pixels for ``image:*``, metres otherwise.
        scores: ``(T, P, K)`` float32 confidences in [0, 1]; 0 where missing.
        times: ``(T,)`` float64 timestamps in seconds, finite and non-decreasing.
        space: ``"image:<cam>"`` (D = 2), ``"camera:<cam>"``, ``"body"`` or
            ``"world"`` (D = 3).
        tracked: True when person index p is the same person in every frame.
        meta: free-form read-only metadata.

    On construction the arrays are copied and made read-only; a keypoint with
    any NaN coordinate becomes all-NaN with score 0. (A score of 0 does not
    erase coordinates.)

    Raises:
        InputError: wrong shapes or dtypes, infinite coordinates, scores that are
            NaN or outside [0, 1], bad times, or an invalid ``space``.
    """

    skeleton: Skeleton
    coords: np.ndarray
    scores: np.ndarray
    times: np.ndarray
    space: str
    tracked: bool = False
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        skel = get_skeleton(self.skeleton)
        k = len(skel)
        want = f"(T, P, K={k}, D) with D in (2, 3) for skeleton {skel.name}"

        coords = _float_array(self.coords, np.float32, "coords")
        if coords.ndim != 4 or coords.shape[2] != k:
            raise InputError(f"coords must have shape {want}; got {coords.shape}")
        t, p, _, d = coords.shape
        if d not in (2, 3):
            raise InputError(f"coords must have shape {want}; got D={d} in {coords.shape}")
        n_inf = int(np.isinf(coords).sum())
        if n_inf:
            raise InputError(
                f"coords must be finite or NaN (NaN marks a missing keypoint); "
                f"found {n_inf} infinite value(s)"
            )

        scores = _float_array(self.scores, np.float32, "scores")
        if scores.shape != (t, p, k):
            raise InputError(
                f"scores must have shape (T, P, K) = {(t, p, k)} to match coords "
                f"{coords.shape}; got {scores.shape}"
            )
        n_nan = int(np.isnan(scores).sum())
        if n_nan:
            raise InputError(
                f"scores must not be NaN (use 0 for a missing keypoint); found {n_nan} NaN score(s)"
            )
        n_bad = int(((scores < 0) | (scores > 1)).sum())
        if n_bad:
            raise InputError(
                f"scores must lie in [0, 1]; found {n_bad} value(s) outside "
                f"(min {float(scores.min()):g}, max {float(scores.max()):g})"
            )

        times = _float_array(self.times, np.float64, "times")
        if times.shape != (t,):
            raise InputError(
                f"times must have shape (T,) = ({t},) to match coords {coords.shape}; "
                f"got {times.shape}"
            )
        n_nonfinite = int((~np.isfinite(times)).sum())
        if n_nonfinite:
            raise InputError(f"times must be finite seconds; found {n_nonfinite} NaN/inf value(s)")
        n_back = int((np.diff(times) < 0).sum())
        if n_back:
            raise InputError(
                f"times must be non-decreasing; found {n_back} step(s) going backwards"
            )

        need_d = _space_dim(self.space)
        if d != need_d:
            raise InputError(
                f"space {self.space!r} needs D={need_d} coordinates; got D={d} "
                f"(valid spaces: {_SPACE_HELP})"
            )

        if not isinstance(self.meta, Mapping):
            raise InputError(f"meta must be a mapping; got {type(self.meta).__name__}")
        meta = dict(self.meta)
        bad_keys = [key for key in meta if not isinstance(key, str)]
        if bad_keys:
            raise InputError(f"meta keys must be strings; got {bad_keys[:3]!r}")

        # A keypoint with any NaN coordinate is missing: all NaN, score 0.
        missing = np.isnan(coords).any(axis=-1)
        coords[missing] = np.nan
        scores[missing] = 0.0

        object.__setattr__(self, "skeleton", skel)
        object.__setattr__(self, "coords", _readonly(coords))
        object.__setattr__(self, "scores", _readonly(scores))
        object.__setattr__(self, "times", _readonly(times))
        object.__setattr__(self, "tracked", bool(self.tracked))
        object.__setattr__(self, "meta", MappingProxyType(meta))

    # -- shape ----------------------------------------------------------------------------

    @property
    def n_frames(self) -> int:
        """T, the number of frames."""
        return int(self.coords.shape[0])

    @property
    def n_people(self) -> int:
        """P, the number of person slots per frame."""
        return int(self.coords.shape[1])

    @property
    def n_keypoints(self) -> int:
        """K, the number of keypoints (``len(skeleton)``)."""
        return int(self.coords.shape[2])

    @property
    def dim(self) -> int:
        """D, 2 or 3."""
        return int(self.coords.shape[3])

    def __repr__(self) -> str:
        return (
            f"Poses(skeleton={self.skeleton.name}, T={self.n_frames}, P={self.n_people}, "
            f"K={self.n_keypoints}, D={self.dim}, space={self.space!r}, tracked={self.tracked})"
        )

    def _replace(self, **changes: Any) -> Poses:
        return dataclasses.replace(self, **changes)

    # -- constructors ---------------------------------------------------------------------

    @classmethod
    def empty(
        cls,
        skeleton: Skeleton | str,
        dim: int,
        space: str,
        *,
        times: Sequence[float] | np.ndarray | None = None,
        n_people: int = 0,
        tracked: bool = False,
        meta: Mapping[str, Any] | None = None,
    ) -> Poses:
        """Poses with no keypoints detected.

        Args:
            skeleton: layout.
            dim: D, 2 or 3 (must suit ``space``).
            space: coordinate frame (see the class docstring).
            times: ``(T,)`` seconds; ``None`` gives T = 0.
            n_people: P (default 0). With P > 0 every keypoint is NaN, score 0.

        Returns:
            Poses with coords ``(T, P, K, dim)`` all NaN and scores all 0.
        """
        skel = get_skeleton(skeleton)
        t_arr = np.zeros(0) if times is None else _float_array(times, np.float64, "times")
        if t_arr.ndim != 1:
            raise InputError(f"times must have shape (T,); got {t_arr.shape}")
        if int(n_people) != n_people or n_people < 0:
            raise InputError(f"n_people must be a non-negative integer; got {n_people!r}")
        if dim not in (2, 3):
            raise InputError(f"dim must be 2 or 3; got {dim!r}")
        shape = (t_arr.shape[0], int(n_people), len(skel))
        return cls(
            skeleton=skel,
            coords=np.full((*shape, int(dim)), np.nan, dtype=np.float32),
            scores=np.zeros(shape, dtype=np.float32),
            times=t_arr,
            space=space,
            tracked=tracked,
            meta={} if meta is None else meta,
        )

    @classmethod
    def from_frames(
        cls,
        skeleton: Skeleton | str,
        frames: Sequence[tuple[Any, Any]],
        times: Sequence[float] | np.ndarray,
        space: str,
        *,
        dim: int | None = None,
        tracked: bool = False,
        meta: Mapping[str, Any] | None = None,
    ) -> Poses:
        """Build padded Poses from ragged per-frame detections.

        Args:
            skeleton: layout with K keypoints.
            frames: one ``(coords, scores)`` pair per frame: coords ``(P_t, K, D)``,
                scores ``(P_t, K)``. ``P_t`` may differ between frames and may be 0.
            times: ``(T,)`` seconds, one per frame.
            space: coordinate frame.
            dim: D; needed only when it cannot be read from the frames (every
                frame empty and given without a D axis). Defaults to 2 for
                ``image:*`` spaces and 3 otherwise when nothing else tells.
            tracked: whether person slot p is the same person in every frame.

        Returns:
            Poses with P = max P_t; frames with fewer people are padded with NaN
            coordinates and score 0.
        """
        skel = get_skeleton(skeleton)
        k = len(skel)
        t_arr = _float_array(times, np.float64, "times")
        if t_arr.ndim != 1 or t_arr.shape[0] != len(frames):
            raise InputError(
                f"times must have shape (T,) with one time per frame (T={len(frames)}); "
                f"got {t_arr.shape}"
            )
        items: list[tuple[np.ndarray, np.ndarray]] = []
        dims: set[int] = set()
        for i, frame in enumerate(frames):
            try:
                c_raw, s_raw = frame
            except (TypeError, ValueError):
                raise InputError(
                    f"frame {i} must be a (coords, scores) pair with shapes (P_t, K={k}, D) "
                    f"and (P_t, K={k})"
                ) from None
            c = _float_array(c_raw, np.float32, f"frame {i} coords")
            s = _float_array(s_raw, np.float32, f"frame {i} scores")
            if c.size == 0 and c.ndim < 3:
                # an empty frame given without a D axis, e.g. ([], [])
                if s.size != 0:
                    raise InputError(
                        f"frame {i} has no coordinates but {s.size} score(s); scores must have "
                        f"shape (P_t, K={k}) matching coords"
                    )
                c = np.zeros((0, k, 0), dtype=np.float32)
                s = np.zeros((0, k), dtype=np.float32)
            else:
                if c.ndim != 3 or c.shape[1] != k:
                    raise InputError(
                        f"frame {i} coords must have shape (P_t, K={k}, D) for skeleton "
                        f"{skel.name}; got {c.shape}"
                    )
                dims.add(int(c.shape[2]))
                if s.shape != c.shape[:2]:
                    raise InputError(
                        f"frame {i} scores must have shape (P_t, K) = {c.shape[:2]}; "
                        f"got {s.shape}"
                    )
            items.append((c, s))
        if dim is not None:
            dims.add(int(dim))
        if len(dims) > 1:
            raise InputError(f"all frames must have the same D; got D values {sorted(dims)}")
        if dims:
            d = dims.pop()
        else:
            d = _space_dim(space)
        p_max = max((c.shape[0] for c, _ in items), default=0)
        t = len(items)
        coords = np.full((t, p_max, k, d), np.nan, dtype=np.float32)
        scores = np.zeros((t, p_max, k), dtype=np.float32)
        for i, (c, s) in enumerate(items):
            n = c.shape[0]
            if n:
                coords[i, :n] = c
                scores[i, :n] = s
        return cls(
            skeleton=skel,
            coords=coords,
            scores=scores,
            times=t_arr,
            space=space,
            tracked=tracked,
            meta={} if meta is None else meta,
        )

    @classmethod
    def concat(cls, items: Sequence[Poses]) -> Poses:
        """Join Poses along time.

        All items must share skeleton, D and space, and their times must stay
        non-decreasing across the join. P becomes the largest P; shorter items
        are padded with NaN / score 0. ``tracked`` is True only if every item is
        tracked. ``meta`` is merged, later items winning on equal keys.
        """
        items = list(items)
        if not items:
            raise InputError("concat needs at least one Poses object; got an empty list")
        for i, item in enumerate(items):
            if not isinstance(item, Poses):
                raise InputError(f"concat expects Poses objects; item {i} is {type(item).__name__}")
        first = items[0]
        for i, item in enumerate(items[1:], start=1):
            if item.skeleton != first.skeleton:
                raise InputError(
                    f"concat: item {i} has skeleton {item.skeleton.name}, "
                    f"expected {first.skeleton.name}"
                )
            if item.dim != first.dim or item.space != first.space:
                raise InputError(
                    f"concat: item {i} is D={item.dim} in {item.space!r}, "
                    f"expected D={first.dim} in {first.space!r}"
                )
        p_max = max(item.n_people for item in items)
        coords, scores, meta = [], [], {}
        for item in items:
            pad = p_max - item.n_people
            coords.append(
                np.pad(item.coords, ((0, 0), (0, pad), (0, 0), (0, 0)), constant_values=np.nan)
            )
            scores.append(np.pad(item.scores, ((0, 0), (0, pad), (0, 0)), constant_values=0))
            meta.update(item.meta)
        return cls(
            skeleton=first.skeleton,
            coords=np.concatenate(coords, axis=0),
            scores=np.concatenate(scores, axis=0),
            times=np.concatenate([item.times for item in items]),
            space=first.space,
            tracked=all(item.tracked for item in items),
            meta=meta,
        )

    # -- selection ------------------------------------------------------------------------

    def between(self, start: float | None = None, end: float | None = None) -> Poses:
        """Frames with ``start <= time < end`` (seconds); ``None`` leaves that side open."""
        keep = np.ones(self.n_frames, dtype=bool)
        bounds = []
        for value, name in ((start, "start"), (end, "end")):
            if value is not None:
                try:
                    value = float(value)
                except (TypeError, ValueError):
                    value = float("nan")
                if not np.isfinite(value):
                    raise InputError(
                        f"{name} must be a finite number of seconds or None; got {value!r}"
                    )
            bounds.append(value)
        start, end = bounds
        if start is not None and end is not None and start > end:
            raise InputError(f"start must not be after end; got start={start}, end={end}")
        if start is not None:
            keep &= self.times >= start
        if end is not None:
            keep &= self.times < end
        return self.frames(np.flatnonzero(keep))

    def frames(self, sl: slice | Sequence[int] | np.ndarray) -> Poses:
        """Select frames by slice, integer indices or a boolean mask of length T.

        Indices must keep times non-decreasing (e.g. sorted indices).
        """
        idx = self._index(sl, self.n_frames, "frame")
        return self._replace(
            coords=self.coords[idx], scores=self.scores[idx], times=self.times[idx]
        )

    def people(self, idx: int | Sequence[int] | np.ndarray) -> Poses:
        """Select person slots, keeping the P axis (an int gives P = 1)."""
        if isinstance(idx, (int, np.integer)) and not isinstance(idx, bool):
            idx = [int(idx)]
        sel = self._index(idx, self.n_people, "person")
        return self._replace(coords=self.coords[:, sel], scores=self.scores[:, sel])

    @staticmethod
    def _index(sel: Any, n: int, what: str) -> np.ndarray | slice:
        if isinstance(sel, slice):
            return sel
        arr = np.asarray(sel)
        if arr.dtype == bool:
            if arr.shape != (n,):
                raise InputError(f"a boolean {what} mask must have shape ({n},); got {arr.shape}")
            return np.flatnonzero(arr)
        if arr.size == 0:
            return np.zeros(0, dtype=np.intp)
        if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
            raise InputError(
                f"{what} selection must be a slice, a 1-D sequence of integer indices or a "
                f"boolean mask; got {arr.dtype} array of shape {arr.shape}"
            )
        if arr.min() < -n or arr.max() >= n:
            raise InputError(f"{what} index out of range for {n} {what}(s): {arr.tolist()}")
        return arr.astype(np.intp)

    # -- conversion / queries -------------------------------------------------------------

    def to_skeleton(self, target: Skeleton | str, **kw: Any) -> Poses:
        """Convert to another layout with :func:`~posestack.skeletons.keypoint_map`.

        Keyword arguments go to ``keypoint_map`` (e.g. ``side="left"`` for hand21 ->
        coco_wholebody133). Unavailable target keypoints are NaN with score 0.
        """
        kmap = keypoint_map(self.skeleton, target, **kw)
        coords, scores = kmap(self.coords, self.scores)
        return self._replace(skeleton=kmap.target, coords=coords, scores=scores)

    def present(self) -> np.ndarray:
        """``(T, P)`` bool: the person slot has at least one keypoint with score > 0."""
        return (self.scores > 0).any(axis=2)

    def with_meta(self, **kv: Any) -> Poses:
        """A copy with ``meta`` updated by the keyword arguments."""
        return self._replace(meta={**self.meta, **kv})
