"""Reading frames from videos and images, writing H.264 video.

Frames are streamed (one decoded frame in memory at a time, plus a small
read-ahead queue in the pipeline), never all held. Video decoding and encoding
use PyAV (FFmpeg); images use OpenCV.

Convention: frames are uint8 RGB ``(H, W, 3)``; times are seconds from the
start of the stream (the first frame's presentation time is 0).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError, OutputError

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
VIDEO_EXTENSIONS = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv",
                    ".flv", ".ts", ".mts", ".3gp", ".ogv"}


@dataclass(frozen=True)
class MediaInfo:
    """What a video or image holds, read from its header.

    ``n_frames`` is the container's declared count (None when it declares
    none); ``fps`` is the average frame rate (None for images).
    """

    path: Path
    kind: str  # "video" or "image"
    width: int
    height: int
    fps: float | None
    n_frames: int | None
    duration: float | None  # seconds
    codec: str


def collect_inputs(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Expand the user's inputs: files as given, folders to their videos and images.

    A folder contributes its direct children with a known video or image
    extension, sorted by name. Raises :class:`InputError` for a missing path
    or a folder with nothing to read.
    """
    out: list[Path] = []
    for raw in paths:
        p = Path(raw).expanduser()
        if not p.exists():
            raise InputError(f"input not found: {p} (check the path; give a video, an image or "
                             "a folder of them)")
        if p.is_dir():
            kids = sorted(c for c in p.iterdir() if c.is_file()
                          and c.suffix.lower() in IMAGE_EXTENSIONS | VIDEO_EXTENSIONS)
            if not kids:
                raise InputError(
                    f"folder {p} has no videos or images (looked for "
                    f"{', '.join(sorted(IMAGE_EXTENSIONS | VIDEO_EXTENSIONS))})")
            out.extend(kids)
        else:
            out.append(p)
    if not out:
        raise InputError("no input given: name a video, an image or a folder of them")
    return out


def _read_image(path: Path) -> np.ndarray | None:
    data = np.fromfile(str(path), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        return None
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def probe(path: str | os.PathLike) -> MediaInfo:
    """Open a file and describe it; :class:`InputError` if it is neither video nor image."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"input not found: {path}")
    if path.stat().st_size == 0:
        raise InputError(f"{path} is empty (0 bytes): not a video or image")
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        img = _read_image(path)
        if img is None:
            raise InputError(f"{path} could not be decoded as an image; is it corrupt or of "
                             "another type?")
        h, w = img.shape[:2]
        return MediaInfo(path, "image", w, h, None, 1, None, path.suffix.lower().lstrip("."))
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise InputError(f"{path} has no video stream (streams: "
                                 f"{[s.type for s in container.streams]})")
            s = container.streams.video[0]
            fps = float(s.average_rate) if s.average_rate else None
            duration = None
            if s.duration is not None and s.time_base is not None:
                duration = float(s.duration * s.time_base)
            elif container.duration is not None:
                duration = container.duration / 1e6
            n = int(s.frames) if s.frames else None
            if n is None and duration is not None and fps:
                n = round(duration * fps)
            w, h = s.codec_context.width, s.codec_context.height
            codec = s.codec_context.name
    except (av.error.FFmpegError, UnicodeDecodeError) as e:
        img = _read_image(path)
        if img is not None:  # an image with an unusual extension
            h, w = img.shape[:2]
            return MediaInfo(path, "image", w, h, None, 1, None, "image")
        raise InputError(f"{path} is not a readable video or image ({e}). Supported: videos "
                         "FFmpeg can decode (mp4, mov, avi, mkv, webm…) and images "
                         f"({', '.join(sorted(IMAGE_EXTENSIONS))})") from None
    if not w or not h:
        raise InputError(f"{path}: video stream has no frame size; the file may be corrupt")
    return MediaInfo(path, "video", w, h, fps, n, duration, codec)


@dataclass
class FrameReader:
    """Iterate ``(frame_index, time_s, rgb)`` over a video or an image.

    ``start``/``end`` (seconds) select frames with ``start ≤ time < end``.
    A ``start`` later than ``seek_after`` seconds seeks to the keyframe before
    it instead of decoding from the beginning; frame indices are then
    ``round(time · fps)`` (exact for constant-frame-rate video).
    A decoding error after some frames were read ends the iteration with a
    warning in ``warnings`` (``truncated`` is set) instead of an exception.
    ``threads``: decoder threads (None: FFmpeg's choice, one per core and one more).
    """

    info: MediaInfo
    start: float | None = None
    end: float | None = None
    seek_after: float = 5.0
    threads: int | None = None
    warnings: list[str] = field(default_factory=list)
    truncated: bool = False
    seeked: bool = False
    frames_read: int = 0

    def __iter__(self) -> Iterator[tuple[int, float, np.ndarray]]:
        if self.info.kind == "image":
            img = _read_image(self.info.path)
            if img is None:
                raise InputError(f"{self.info.path} could not be decoded as an image")
            self.frames_read = 1
            yield 0, 0.0, img
            return
        yield from self._video()

    def _threads(self, stream) -> None:
        stream.thread_type = "AUTO"
        if self.threads is not None:
            stream.codec_context.thread_count = max(1, int(self.threads))

    def _video(self) -> Iterator[tuple[int, float, np.ndarray]]:
        import av

        path = self.info.path
        container = av.open(str(path))
        try:
            stream = container.streams.video[0]
            self._threads(stream)
            tb = stream.time_base or Fraction(1, 1)
            fps = self.info.fps or 30.0
            origin = stream.start_time
            seeked = False
            if (self.start is not None and self.start > self.seek_after and origin is not None
                    and self.info.fps):
                try:  # to the keyframe at or before one second ahead of start
                    container.seek(origin + int((self.start - 1.0) / tb), stream=stream,
                                   backward=True, any_frame=False)
                    seeked = self.seeked = True
                except av.error.FFmpegError:
                    container.close()
                    container = av.open(str(path))
                    stream = container.streams.video[0]
                    self._threads(stream)
            t0: float | None = float(origin * tb) if seeked else None
            index = -1
            decoded = 0
            try:
                for frame in container.decode(stream):
                    index += 1
                    decoded += 1
                    if frame.pts is not None:
                        t = float(frame.pts * tb)
                        t0 = t if t0 is None else t0
                        t -= t0
                    else:
                        t = index / fps
                    if seeked:
                        index = round(t * fps)
                    if self.start is not None and t < self.start - 1e-9:
                        continue
                    if self.end is not None and t >= self.end - 1e-9:
                        break
                    self.frames_read += 1
                    yield index, t, frame.to_ndarray(format="rgb24")
            except (av.error.FFmpegError, EOFError) as e:
                self.truncated = True
                self.warnings.append(
                    f"{path.name}: decoding stopped after {decoded} frames ({e}); the file is "
                    "truncated or corrupt. Results cover the frames that could be read.")
            declared = self.info.n_frames
            if (not self.truncated and self.end is None and declared and not seeked
                    and decoded < declared - max(2, int(0.01 * declared))):
                self.truncated = True
                self.warnings.append(
                    f"{path.name}: read {decoded} of the {declared} frames the container "
                    "declares; the file is probably truncated. Results cover the frames read.")
            if decoded == 0:
                raise InputError(f"{path} contains no decodable video frames")
        finally:
            container.close()


class VideoWriter:
    """H.264 (libx264, yuv420p, +faststart) writer for RGB frames; plays in browsers.

    Odd frame sizes are padded by one pixel (H.264 4:2:0 needs even sizes).
    Use as a context manager; the file is complete once closed.
    """

    def __init__(self, path: str | os.PathLike, width: int, height: int, fps: float,
                 crf: int = 23, preset: str = "veryfast") -> None:
        import av

        self.path = Path(path)
        self.width, self.height = width + width % 2, height + height % 2
        try:
            self.container = av.open(str(self.path), mode="w", format="mp4",
                                     options={"movflags": "+faststart"})
        except (av.error.FFmpegError, OSError) as e:
            raise OutputError(f"cannot write video {self.path}: {e}") from e
        rate = Fraction(fps).limit_denominator(1001) if fps and math.isfinite(fps) else 30
        self.stream = self.container.add_stream("libx264", rate=rate)
        self.stream.width, self.stream.height = self.width, self.height
        self.stream.pix_fmt = "yuv420p"
        # A short lookahead keeps the encoder's memory small on large frames.
        self.stream.options = {"crf": str(crf), "preset": preset, "rc-lookahead": "8"}
        self._av = av

    def write(self, rgb: np.ndarray) -> None:
        """Append one uint8 RGB ``(H, W, 3)`` frame."""
        h, w = rgb.shape[:2]
        if (w, h) != (self.width, self.height):
            rgb = cv2.copyMakeBorder(rgb, 0, self.height - h, 0, self.width - w,
                                     cv2.BORDER_REPLICATE)
        frame = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def close(self) -> None:
        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
