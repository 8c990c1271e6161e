"""Where a camera's calibration views come from: a folder of images, images named one by
one, or a video (frames sampled evenly through it).

One input is one camera. Its name is ``camNN`` when the input's name holds ``cam`` and a
number (Pose2Sim's ``int_cam01_img`` → ``cam01``), else the file or folder's stem.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io.media import (
    IMAGE_EXTENSIONS,
    VIDEO_EXTENSIONS,
    FrameReader,
    media_files,
    probe,
    read_image,
)


def camera_name(path: Path) -> str:
    """``camNN`` from a name holding ``cam`` and a number, else the stem."""
    m = re.search(r"cam(?:era)?[_\-\s]*(\d+)", path.stem if path.is_file() else path.name,
                  re.IGNORECASE)
    return f"cam{int(m.group(1)):02d}" if m else (path.stem if path.is_file() else path.name)


def group_inputs(paths: Sequence[str | Path], image_per_camera: bool = False
                 ) -> list[tuple[str, list[Path]]]:
    """Inputs → ``[(camera name, files)]``: a folder's images are one camera, a video one
    camera, and image files given one by one are grouped by their folder. With
    ``image_per_camera`` (one view per camera, as for extrinsics), each image file is its
    own camera, and so is each image of a folder whose images name different cameras
    (Pose2Sim's ``extrinsics/cam01_ext.png``, ``cam02_ext.png``...).

    Raises:
        InputError: a path that does not exist, a folder without images, a file that is
            neither an image nor a video, or two inputs that give the same camera name.
    """
    groups: dict[str, list[Path]] = {}
    loose: dict[Path, list[Path]] = {}
    for raw in paths:
        p = Path(raw).expanduser()
        if not p.exists():
            raise InputError(f"calibration input not found: {p}")
        if p.is_dir():
            files = media_files(p)
            if not files:
                raise InputError(f"folder {p} has no images or videos of the board")
            if any(f.suffix.lower() in VIDEO_EXTENSIONS for f in files) or (
                    image_per_camera and len({camera_name(f) for f in files}) > 1):
                for f in files:   # a folder of videos (or of cameras' views): one camera each
                    _add(groups, camera_name(f), [f])
            else:
                _add(groups, camera_name(p), files)
        elif p.suffix.lower() in VIDEO_EXTENSIONS:
            _add(groups, camera_name(p), [p])
        elif p.suffix.lower() in IMAGE_EXTENSIONS and image_per_camera:
            _add(groups, camera_name(p), [p])
        elif p.suffix.lower() in IMAGE_EXTENSIONS:
            loose.setdefault(p.parent, []).append(p)
        else:
            raise InputError(f"{p} is neither an image nor a video")
    for folder, files in loose.items():
        _add(groups, camera_name(folder), sorted(files))
    if not groups:
        raise InputError("give the board's images or videos, one folder or video per camera")
    return list(groups.items())


def _add(groups: dict[str, list[Path]], name: str, files: list[Path]) -> None:
    if name in groups:
        raise InputError(f"two inputs are both camera {name!r}: give each camera's views "
                         "once (a folder of images or a video per camera)")
    groups[name] = files


def views(files: Sequence[Path], max_views: int = 60) -> Iterator[tuple[str, np.ndarray]]:
    """``(source, rgb)`` views of one camera: every image, or up to ``max_views`` frames
    evenly spread through each video (``video.mp4#frame``)."""
    for f in files:
        if f.suffix.lower() in VIDEO_EXTENSIONS:
            info = probe(f)
            n = info.n_frames or max_views
            step = max(1, int(np.ceil(n / max_views)))
            for idx, _, rgb in FrameReader(info):
                if idx % step == 0:
                    yield f"{f.name}#{idx}", rgb
        else:
            yield f.name, read_image(f)


__all__ = ["camera_name", "group_inputs", "views"]
