"""Reading frames from videos and images, writing H.264 video.

Frames are streamed (one decoded frame in memory at a time, plus a small
read-ahead queue in the pipeline), never all held. Video decoding and encoding
use PyAV (FFmpeg); images use OpenCV.

Convention: frames are uint8 RGB ``(H, W, 3)``; times are seconds from the
start of the stream (the first frame's presentation time is 0).

Rotation: phones store the sensor's pixels and a note saying how to turn them
for display (a video stream's display matrix; a JPEG's EXIF orientation). By
default frames come out *as displayed* (``autorotate=True``), as a video player,
FFmpeg and OpenCV show them; with ``autorotate=False`` as stored. Rotations are
clockwise degrees, 0, 90, 180 or 270, the sense of ffmpeg's old ``rotate`` tag
and of OpenCV's ``CAP_PROP_ORIENTATION_META`` (a phone held upright records
``90``). FFmpeg's display-matrix angle (``av_display_rotation_get``, PyAV's
``VideoFrame.rotation``) is counter-clockwise: the same turn is ``-90`` there.
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

    ``width``/``height`` (pixels) are those of the frames :class:`FrameReader`
    yields: as displayed when ``autorotate``, else as stored.
    ``n_frames`` is the container's declared count (None when it declares
    none); ``fps`` is the average frame rate (None for images).
    ``rotation``: clockwise degrees (0, 90, 180, 270) the file asks a viewer to
    turn its stored pixels by (video display matrix, image EXIF orientation),
    whether or not it is applied; ``mirrored``: the EXIF orientation also
    mirrors the image (left-right, before the turn). ``autorotate``: whether
    frames are turned (and mirrored) as the file asks.
    """

    path: Path
    kind: str  # "video" or "image"
    width: int
    height: int
    fps: float | None
    n_frames: int | None
    duration: float | None  # seconds
    codec: str
    rotation: int = 0
    mirrored: bool = False
    autorotate: bool = True

    @property
    def applied_rotation(self) -> int:
        """Clockwise degrees the frames are turned by on reading (0 with ``autorotate`` off)."""
        return self.rotation if self.autorotate else 0

    @property
    def stored_size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels of the frames as stored in the file."""
        if self.autorotate and self.rotation % 180:
            return self.height, self.width
        return self.width, self.height


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
            kids = media_files(p)
            if not kids:
                below = sorted(d for d in p.iterdir() if d.is_dir() and media_files(d))
                hint = (f"; its subfolder {below[0]} has some: give that folder (or the "
                        "videos themselves)" if len(below) == 1 else
                        f"; these subfolders have some: {', '.join(d.name for d in below)}: "
                        "give one of them" if below else "")
                raise InputError(
                    f"folder {p} has no videos or images (looked for "
                    f"{', '.join(sorted(IMAGE_EXTENSIONS | VIDEO_EXTENSIONS))}){hint}")
            out.extend(kids)
        else:
            out.append(p)
    if not out:
        raise InputError("no input given: name a video, an image or a folder of them")
    return out


# EXIF orientation (TIFF tag 0x0112) -> (clockwise degrees, mirrored left-right first)
_EXIF_ORIENTATION = {1: (0, False), 2: (0, True), 3: (180, False), 4: (180, True),
                     5: (270, True), 6: (90, False), 7: (90, True), 8: (270, False)}


def exif_orientation(tiff: bytes) -> int:
    """The Orientation tag (1-8) of an EXIF block (TIFF header onwards); 1 when absent.

    >>> exif_orientation(bytes.fromhex("4d4d002a00000008 0001 011200030000000100060000 "
    ...                                "00000000"))
    6
    """
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return 1
    order = "little" if tiff[:2] == b"II" else "big"
    ifd = int.from_bytes(tiff[4:8], order)
    if ifd + 2 > len(tiff):
        return 1
    for i in range(int.from_bytes(tiff[ifd:ifd + 2], order)):
        e = ifd + 2 + 12 * i
        if e + 12 > len(tiff):
            break
        if int.from_bytes(tiff[e:e + 2], order) == 0x0112:
            value = int.from_bytes(tiff[e + 8:e + 10], order)
            return value if value in _EXIF_ORIENTATION else 1
    return 1


def _jpeg_exif(data: bytes) -> bytes:
    """The EXIF block of a JPEG's APP1 segment (TIFF header onwards), or b""."""
    i = 2
    while data[:2] == b"\xff\xd8" and i + 4 <= len(data) and data[i] == 0xFF:
        marker, size = data[i + 1], int.from_bytes(data[i + 2:i + 4], "big")
        if marker == 0xE1 and data[i + 4:i + 10] == b"Exif\x00\x00":
            return data[i + 10:i + 2 + size]
        if marker == 0xDA:  # image data: no more headers
            break
        i += 2 + size
    return b""


def media_files(folder: Path) -> list[Path]:
    """A folder's direct children with a video or image extension, sorted by name."""
    return sorted(c for c in folder.iterdir() if c.is_file()
                  and c.suffix.lower() in IMAGE_EXTENSIONS | VIDEO_EXTENSIONS)


def read_image(path: str | os.PathLike, autorotate: bool = True) -> np.ndarray:
    """An image file's RGB uint8 ``(H, W, 3)`` pixels, as displayed (EXIF orientation
    applied) when ``autorotate``.

    Raises:
        InputError: a file that cannot be decoded as an image.
    """
    read = _read_image(Path(path), autorotate)
    if read is None:
        raise InputError(f"{path} could not be decoded as an image")
    return read[0]


def _read_image(path: Path, autorotate: bool = True) -> tuple[np.ndarray, int] | None:
    """RGB pixels (as displayed when ``autorotate``, OpenCV applying the EXIF orientation;
    else as stored) and the EXIF orientation (1-8); None if undecodable."""
    data = np.fromfile(str(path), dtype=np.uint8)
    if not data.size:
        return None
    flags = cv2.IMREAD_COLOR if autorotate else cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION
    if hasattr(cv2, "imdecodeWithMetadata"):  # OpenCV ≥ 4.12: EXIF of any format it reads
        img, types, blocks = cv2.imdecodeWithMetadata(data, flags)
        exif = b"".join(np.asarray(b).tobytes() for t, b in zip(
            np.ravel(types), blocks, strict=False) if t == cv2.IMAGE_METADATA_EXIF)
        if img is None or not img.size:
            return None
    else:
        img = cv2.imdecode(data, flags)
        if img is None:
            return None
        exif = _jpeg_exif(data.tobytes())
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB), exif_orientation(exif)


def _image_info(path: Path, codec: str, autorotate: bool) -> MediaInfo | None:
    read = _read_image(path, autorotate)
    if read is None:
        return None
    img, orientation = read
    h, w = img.shape[:2]
    rotation, mirrored = _EXIF_ORIENTATION[orientation]
    return MediaInfo(path, "image", w, h, None, 1, None, codec, rotation, mirrored, autorotate)


def _rotation_of(stream, first_frame, path: Path) -> int:
    """Clockwise degrees (0/90/180/270) a video's display matrix asks for."""
    ccw = getattr(first_frame, "rotation", None) if first_frame is not None else None
    if ccw is None or (ccw == 0 and "rotate" in stream.metadata):
        try:  # ffmpeg's legacy tag (clockwise), exported by old FFmpeg builds
            return round(float(stream.metadata.get("rotate", 0)) / 90) % 4 * 90
        except ValueError:
            return 0
    cw = -float(ccw)
    turn = round(cw / 90) % 4 * 90
    if abs((cw - turn + 180) % 360 - 180) > 1:
        log.warning("%s: display rotation of %g° is not a multiple of 90°; turning by %d°",
                    path.name, cw, turn)
    return turn


def rotate_frame(rgb: np.ndarray, clockwise: int, mirrored: bool = False) -> np.ndarray:
    """An image ``(H, W, 3)`` (or ``(H, W)``) mirrored left-right (if asked), then turned
    ``clockwise``° (0, 90, 180 or 270); ``(W, H, 3)`` after a quarter turn.

    >>> rotate_frame(np.arange(6, dtype=np.uint8).reshape(2, 3), 90)
    array([[3, 0],
           [4, 1],
           [5, 2]], dtype=uint8)
    """
    if mirrored:
        rgb = rgb[:, ::-1]
    match clockwise % 360:
        case 0:
            return rgb
        case 90:
            return cv2.rotate(np.ascontiguousarray(rgb), cv2.ROTATE_90_CLOCKWISE)
        case 180:
            return cv2.rotate(np.ascontiguousarray(rgb), cv2.ROTATE_180)
        case 270:
            return cv2.rotate(np.ascontiguousarray(rgb), cv2.ROTATE_90_COUNTERCLOCKWISE)
    raise ValueError(f"rotation must be 0, 90, 180 or 270 degrees; got {clockwise}")


def probe(path: str | os.PathLike, autorotate: bool = True) -> MediaInfo:
    """Open a file and describe it; :class:`InputError` if it is neither video nor image.

    With ``autorotate`` the size is as displayed: turned as the video's display
    matrix or the image's EXIF orientation asks (``rotation`` says by how much);
    without it, as stored. A video's first frame is decoded to read its rotation.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"input not found: {path}")
    if path.stat().st_size == 0:
        raise InputError(f"{path} is empty (0 bytes): not a video or image")
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        info = _image_info(path, path.suffix.lower().lstrip("."), autorotate)
        if info is None:
            raise InputError(f"{path} could not be decoded as an image; is it corrupt or of "
                             "another type?")
        return info
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
            try:
                first = next(container.decode(s), None)
            except (av.error.FFmpegError, EOFError):
                first = None  # FrameReader reports undecodable video; here only the rotation
            rotation = _rotation_of(s, first, path)
    except (av.error.FFmpegError, UnicodeDecodeError) as e:
        info = _image_info(path, "image", autorotate)
        if info is not None:  # an image with an unusual extension
            return info
        raise InputError(f"{path} is not a readable video or image ({e}). Supported: videos "
                         "FFmpeg can decode (mp4, mov, avi, mkv, webm…) and images "
                         f"({', '.join(sorted(IMAGE_EXTENSIONS))})") from None
    if not w or not h:
        raise InputError(f"{path}: video stream has no frame size; the file may be corrupt")
    if autorotate and rotation % 180:
        w, h = h, w
    return MediaInfo(path, "video", w, h, fps, n, duration, codec, rotation, False, autorotate)


@dataclass
class FrameReader:
    """Iterate ``(frame_index, time_s, rgb)`` over a video or an image.

    ``start``/``end`` (seconds) select frames with ``start ≤ time < end``.
    A ``start`` later than ``seek_after`` seconds seeks to the keyframe before
    it instead of decoding from the beginning; frame indices are then
    ``round(time · fps)`` (exact for constant-frame-rate video).
    Frames are turned as ``info`` says (``info.applied_rotation``; see
    :func:`probe`), so their size is ``(info.height, info.width)``.
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
            rgb = read_image(self.info.path, self.info.autorotate)
            self.frames_read = 1
            yield 0, 0.0, rgb
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
            turn = self.info.applied_rotation
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
                    yield index, t, rotate_frame(frame.to_ndarray(format="rgb24"), turn)
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


def frames_by_index(video: str | os.PathLike | None, wanted: np.ndarray,
                    autorotate: bool = True) -> Iterator[tuple[int, np.ndarray | None]]:
    """``(frame index, rgb or None)`` for each wanted index (sorted, ascending), in order:
    RGB uint8 ``(H, W, 3)`` frames turned as the video's display matrix asks when
    ``autorotate`` (:func:`probe`); None where the video lacks the frame, and for every
    index when ``video`` is None (draw on a blank canvas). A late first index seeks there
    instead of decoding from the start."""
    if video is None:
        for f in wanted:
            yield int(f), None
        return
    want = iter(int(f) for f in wanted)
    nxt = next(want, None)
    info = probe(video, autorotate=autorotate)
    # a late first frame: seek there (half a frame early) instead of decoding from the start
    start = (nxt - 0.5) / info.fps if nxt is not None and nxt > 0 and info.fps else None
    for idx, _, rgb in FrameReader(info, start=start):
        while nxt is not None and nxt < idx:   # a wanted frame the video lacks
            yield nxt, None
            nxt = next(want, None)
        if nxt is None:
            return
        if idx == nxt:
            yield idx, rgb
            nxt = next(want, None)
    while nxt is not None:
        yield nxt, None
        nxt = next(want, None)


def frame_times(info: MediaInfo, start: float | None = None,
                end: float | None = None) -> np.ndarray:
    """Presentation times (s, from the first frame) of a video's frames in ``[start, end)``,
    from the container's packets (no decoding): ``(T,)`` float64, sorted.

    Reading the packets costs one pass over the file at disk speed; used to find a
    variable frame rate before any work.
    """
    import av

    if info.kind != "video":
        return np.zeros(0)
    with av.open(str(info.path)) as container:
        stream = container.streams.video[0]
        tb = stream.time_base or Fraction(1, 1)
        pts = [p.pts for p in container.demux(stream) if p.pts is not None and p.size]
    if not pts:
        return np.zeros(0)
    t = np.sort(np.asarray(pts, np.int64))
    t = (t - t[0]).astype(np.float64) * float(tb)
    keep = np.ones(len(t), bool)
    if start is not None:
        keep &= t >= start - 1e-9
    if end is not None:
        keep &= t < end - 1e-9
    return t[keep]


def variable_rate(times: np.ndarray, tolerance: float = 0.01) -> tuple[float, float] | None:
    """``(shortest, longest)`` frame step (s) when the steps of ``times`` (s) differ from
    their median by more than ``tolerance`` (a fraction), else None (a constant rate)."""
    if len(times) < 3:
        return None
    steps = np.diff(times)
    dt = float(np.median(steps))
    if not dt > 0 or float(np.max(np.abs(steps - dt))) / dt <= tolerance:
        return None
    return float(steps.min()), float(steps.max())


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
