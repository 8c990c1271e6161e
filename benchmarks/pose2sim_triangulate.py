"""Reference run of Pose2Sim's own triangulation on a prepared Pose2Sim project.

Runs INSIDE the venv made by benchmarks/pose2sim_env.sh (pose2sim 0.10.49); it does not import
posestack, so posestack's triangulation can be compared with Pose2Sim's on the same 2D input.

Project layout the caller prepares (``--project DIR``)::

    DIR/calibration/<name>.toml        Pose2Sim calibration (used as is), or, when there is no
                                       .toml there, one Qualisys <name>.qca.txt: this script then
                                       runs Pose2Sim's own conversion (calibration_type 'convert',
                                       convert_from 'qualisys') first, which writes
                                       DIR/calibration/Calib_qualisys.toml (not timed).
    DIR/pose/<cam>_json/*.json         OpenPose-style 2D, one folder per camera. Pose2Sim pairs
                                       folders with calibration cameras BY POSITION: folders
                                       sorted by the last number in their name, cameras in the
                                       order of the .toml sections (qca conversion: natural sort
                                       of the camera serials). The last number of each json file
                                       name must be the frame index, 0..N-1. Only people[0] of
                                       each file is read (multi_person = false).

Pose2Sim's triangulation is called with the triangulation parameters of its Demo_SinglePerson
Config.toml (likelihood 0.3, reprojection error 15 px, at least 2 cameras, no left/right swap, no
undistortion, keep 'all' sections of at least 10 valid frames) except gap handling: interpolation
'none' and fill_large_gaps_with 'nan' (the Demo interpolates gaps < 20 frames linearly and fills
larger ones with the last value), so that every 3D point comes from that frame's 2D only.
Filtering, marker augmentation, kinematics and c3d export are not run.

It writes DIR/Config.toml (the config used), DIR/pose-3d/<DIR name>_<first>-<last>.trc (Pose2Sim's
output: metres, Y-up, trc X/Y/Z = internal Y/Z/X), DIR/pose-3d/pose2sim_triangulation.log (the log)
and DIR/pose-3d/pose2sim_triangulation.npz; see ``save_npz`` for the npz fields. The points in
the npz are back in Pose2Sim's internal frame, i.e. the calibration's world frame (Z-up for the
Qualisys demo), metres, so ``P @ [X, 1]`` gives pixels.

Prints one JSON line on stdout (logs go to stderr).

Usage (from the repository root)::

    PY=$(bash benchmarks/pose2sim_env.sh | tail -n 1)
    "$PY" benchmarks/pose2sim_triangulate.py --project /tmp/p2s_proj --pose-model HALPE_26 --fps 60
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

# Pose2Sim tries the Qt backend first and logs a warning when it is missing; Agg is all we need.
os.environ.setdefault("MPLBACKEND", "Agg")

POSE2SIM_VERSION = "0.10.49"

# Aliases resolved by Pose2Sim.triangulation.triangulate_all before looking up skeletons.py.
MODEL_ALIASES = {
    "BODY_WITH_FEET": "HALPE_26",
    "LOWER_BODY": "HALPE_26_LOWER",
    "WHOLE_BODY_WRIST": "COCO_133_WRIST",
    "WHOLE_BODY": "COCO_133",
    "BODY": "COCO_17",
    "HAND": "HAND_21",
    "FACE": "FACE_106",
    "ANIMAL": "ANIMAL2D_17",
}


def triangulation_config(project: Path, pose_model: str, fps: float) -> dict:
    """Config dict overriding Pose2Sim's Demo_SinglePerson Config.toml."""
    frame_rate: float | int = int(fps) if float(fps).is_integer() else float(fps)
    return {
        "project": {
            "project_dir": str(project),
            "multi_person": False,
            "frame_rate": frame_rate,
            "frame_range": "all",
        },
        "pose": {"pose_model": pose_model},
        "calibration": {
            "calibration_type": "convert",
            "convert": {"convert_from": "qualisys", "qualisys": {"binning_factor": 1}},
        },
        "triangulation": {
            "reproj_error_threshold_triangulation": 15,
            "likelihood_threshold_triangulation": 0.3,
            "min_cameras_for_triangulation": 2,
            "handle_LR_swap": False,
            "undistort_points": False,
            "interpolation": "none",
            "interp_if_gap_smaller_than": 0,
            "fill_large_gaps_with": "nan",
            "remove_incomplete_frames": False,
            "sections_to_keep": "all",
            "min_chunk_size": 10,
            "show_interp_indices": False,
            "make_c3d": False,
        },
        "logging": {"use_custom_logging": True},
    }


class ListHandler(logging.Handler):
    """Keeps every formatted log record (Pose2Sim reports its errors through logging)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.extend(self.format(record).splitlines())


def last_number(name: str) -> int | None:
    numbers = re.findall(r"\d+", name)
    return int(numbers[-1]) if numbers else None


def sorted_like_pose2sim(names: list[str]) -> list[str]:
    """Pose2Sim's sort_stringlist_by_last_number: by last number, unnumbered names last."""

    def key(s: str) -> tuple[bool, int | str]:
        n = last_number(s)
        return (False, n) if n is not None else (True, s)

    return sorted(names, key=key)


def json_dirs(project: Path) -> list[Path]:
    pose_dir = project / "pose"
    if not pose_dir.is_dir():
        raise SystemExit(f"no {pose_dir}")
    for other in ("pose-associated", "pose-sync"):
        if (project / other).exists():
            raise SystemExit(f"{project / other} exists: Pose2Sim would read it instead of pose/")
    names = [d.name for d in pose_dir.iterdir() if d.is_dir() and "json" in d.name]
    if not names:
        raise SystemExit(f"no <cam>_json folder in {pose_dir}")
    return [pose_dir / n for n in sorted_like_pose2sim(names)]


def check_json_numbering(dirs: list[Path]) -> int:
    """Frames Pose2Sim reads: 0..min(count)-1, matched on the last number of each file name."""
    counts = []
    for d in dirs:
        numbers = sorted(last_number(f.name) for f in d.glob("*.json"))
        if not numbers or numbers != list(range(len(numbers))):
            raise SystemExit(
                f"{d}: json file names must end with frame numbers 0..N-1 (found "
                f"{numbers[:3]}...{numbers[-3:]}); Pose2Sim matches frames on that number"
            )
        counts.append(len(numbers))
    if len(set(counts)) > 1:
        logging.warning(
            "json files per camera: %s; Pose2Sim uses the first %d", counts, min(counts)
        )
    return min(counts)


def find_calibration_dir(project: Path) -> Path:
    dirs = [c for c in project.iterdir() if c.is_dir() and "calib" in c.name.lower()]
    if len(dirs) != 1:
        raise SystemExit(f"need exactly one calibration folder in {project}, found {dirs}")
    return dirs[0]


def read_trc(trc_path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Frame numbers, (F, K, 3) trc coordinates (NaN where empty) and marker names."""
    lines = trc_path.read_text().splitlines()
    names = [n for n in lines[3].split("\t")[2:] if n]
    frames, rows = [], []
    for line in lines[5:]:
        if not line.strip():
            continue
        cells = line.split("\t")
        frames.append(int(float(cells[0])))
        values = [float(c) if c.strip() else np.nan for c in cells[2 : 2 + 3 * len(names)]]
        values += [np.nan] * (3 * len(names) - len(values))
        rows.append(values)
    coords = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(names), 3)
    return np.asarray(frames, dtype=np.int64), coords, names


def read_2d(dirs: list[Path], n_frames: int, n_layout: int) -> np.ndarray:
    """(C, F, n_layout, 3) x, y, likelihood of people[0], as Pose2Sim reads them (NaN: absent)."""
    out = np.full((len(dirs), n_frames, n_layout, 3), np.nan)
    for c, d in enumerate(dirs):
        for f in d.glob("*.json"):
            frame = last_number(f.name)
            if frame is None or frame >= n_frames:
                continue
            people = json.loads(f.read_text()).get("people", [])
            if not people:
                continue
            kpts = np.asarray(people[0].get("pose_keypoints_2d", []), dtype=np.float64)
            k = min(len(kpts) // 3, n_layout)
            out[c, frame, :k] = kpts[: 3 * k].reshape(k, 3)
    return out


def reprojection_error(
    points: np.ndarray, ids: list[int], p2d: np.ndarray, proj: np.ndarray, threshold: float
) -> float:
    """Mean pixel distance over (frame, keypoint, view) with 2D likelihood >= threshold and a
    triangulated point; every such view counts, including views Pose2Sim excluded."""
    hom = np.concatenate([points, np.ones((*points.shape[:-1], 1))], axis=-1)  # F, K, 4
    uvw = np.einsum("cij,fkj->cfki", proj, hom)
    uv = uvw[..., :2] / uvw[..., 2:3]
    obs = p2d[:, :, ids, :]
    valid = (obs[..., 2] >= threshold) & np.isfinite(uv).all(-1) & np.isfinite(obs[..., :2]).all(-1)
    dist = np.linalg.norm(uv - obs[..., :2], axis=-1)
    return float(dist[valid].mean()) if valid.any() else float("nan")


def parse_log(lines: list[str]) -> dict:
    per_kpt: dict[str, float] = {}
    cams_excluded: dict[str, float] = {}
    overall = overall_mm = None
    frames_range = None
    trc = None
    kpt_re = re.compile(
        r"Mean reprojection error for (\S+) is (\S+) px \(~ \S+ m\), reached with (\S+) excluded"
    )
    all_re = re.compile(
        r"Mean reprojection error for all points on frames (\d+) to (\d+) is (\S+) px, "
        r"which roughly corresponds to (\S+) mm"
    )
    for line in lines:
        if m := all_re.search(line):
            frames_range = [int(m.group(1)), int(m.group(2))]
            overall, overall_mm = float(m.group(3)), float(m.group(4))
        elif m := kpt_re.search(line):
            per_kpt[m.group(1)] = float(m.group(2))
            cams_excluded[m.group(1)] = float(m.group(3))
        elif m := re.search(r"3D coordinates are stored at (.+\.trc)\.", line):
            trc = m.group(1)
    return {
        "overall_px": overall,
        "overall_mm": overall_mm,
        "frames": frames_range,
        "per_keypoint_px": per_kpt,
        "per_keypoint_cams_excluded": cams_excluded,
        "trc": trc,
    }


def json_safe(value: object) -> object:
    """NaN and inf (Pose2Sim logs 'nan px' for keypoints never triangulated) become null."""
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def save_npz(path: Path, **arrays: object) -> None:
    """Write pose2sim_triangulation.npz. Fields (F frames, K skeleton keypoints, C cameras, L =
    highest json keypoint id + 1, e.g. 26 for HALPE_26):

    frames (F,) 0..F-1; trc_frames: the frames Pose2Sim kept in the trc (it trims leading and
    trailing frames where nothing triangulates); points (F, K, 3): Pose2Sim's 3D in its internal
    (calibration world) frame, metres, NaN where not triangulated; keypoint_names (K,) in trc
    order; keypoint_ids (K,): their index in the json keypoint list; points_layout (F, L, 3): the
    same points at their json index, NaN for keypoints the skeleton lacks; points2d (C, F, L, 3):
    x, y, likelihood of people[0] as read from the json (NaN: no file or no person); P (C, 3, 4):
    Pose2Sim's projection matrices (Pose2Sim.common.computeP, no distortion), pixels = P @ [X, 1];
    camera_names, json_dirs (C,): calibration cameras and json folders, paired by position;
    calibration, fps, likelihood_threshold: scalars.
    """
    np.savez_compressed(path, **arrays)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", required=True, type=Path, help="Pose2Sim project folder")
    parser.add_argument(
        "--pose-model",
        default="HALPE_26",
        help="skeleton of the json files, a name from Pose2Sim/skeletons.py (HALPE_26, COCO_17, "
        "BODY_25B, BLAZEPOSE, ...) or an alias (Body_with_feet = HALPE_26); default HALPE_26",
    )
    parser.add_argument("--fps", required=True, type=float, help="frame rate written to the trc")
    args = parser.parse_args(argv)

    log_lines = ListHandler()
    log_lines.setFormatter(logging.Formatter("%(message)s"))
    stderr_handler = logging.StreamHandler(sys.stderr)
    stderr_handler.setFormatter(logging.Formatter("%(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[log_lines, stderr_handler], force=True)

    project = args.project.resolve()
    if (project.parent / "Config.toml").exists():
        raise SystemExit(
            f"{project.parent / 'Config.toml'} exists: Pose2Sim would take {project.parent} as the "
            "session folder (calibration from there); move the project elsewhere"
        )
    dirs = json_dirs(project)
    n_frames = check_json_numbering(dirs)
    calib_dir = find_calibration_dir(project)

    t0 = time.perf_counter()
    import rtoml
    from Pose2Sim import Pose2Sim, skeletons
    from Pose2Sim import triangulation as _p2s_triangulation  # noqa: F401  (imported untimed)
    from Pose2Sim.common import computeP

    import_seconds = time.perf_counter() - t0

    model_name = MODEL_ALIASES.get(args.pose_model.upper(), args.pose_model.upper())
    model = getattr(skeletons, model_name, None)
    if model is None:
        raise SystemExit(f"pose model {args.pose_model!r} is not in Pose2Sim/skeletons.py")
    from anytree import RenderTree

    nodes = [node for _, _, node in RenderTree(model) if node.id is not None]
    kpt_names = [node.name for node in nodes]
    kpt_ids = [int(node.id) for node in nodes]

    config = triangulation_config(project, model_name, args.fps)
    # Pose2Sim.triangulate_all takes the calibration from the folder that holds a Config.toml
    # (else the working directory), and read_config_files merges our dict over that file.
    demo_config = Path(Pose2Sim.__file__).parent / "Demo_SinglePerson" / "Config.toml"
    merged = Pose2Sim.recursive_update(rtoml.load(demo_config), config)
    (project / "Config.toml").write_text(rtoml.dumps(merged))
    os.chdir(project)

    calibration_seconds = None
    tomls = sorted(calib_dir.glob("*.toml"))
    if not tomls:
        qcas = sorted(calib_dir.glob("*.qca.txt"))
        if not qcas:
            raise SystemExit(f"no .toml nor .qca.txt calibration in {calib_dir}")
        logging.info("converting %s with Pose2Sim.calibration (qualisys)", qcas[0].name)
        t0 = time.perf_counter()
        Pose2Sim.calibration(config)
        calibration_seconds = time.perf_counter() - t0
        tomls = sorted(calib_dir.glob("*.toml"))
    calib_file = max(tomls, key=lambda p: p.stat().st_ctime)  # what Pose2Sim picks
    if len(tomls) > 1:
        logging.warning("several .toml in %s: Pose2Sim uses the newest, %s", calib_dir, calib_file)
    calib = rtoml.load(calib_file)
    cam_keys = [
        c
        for c in calib
        if c not in ("metadata", "capture_volume", "charuco", "checkerboard")
        and isinstance(calib[c], dict)
    ]
    cam_names = [str(calib[c].get("name") or c) for c in cam_keys]
    if len(cam_names) != len(dirs):
        raise SystemExit(f"{len(cam_names)} cameras in {calib_file}, {len(dirs)} json folders")
    for cam, d in zip(cam_names, dirs, strict=True):
        if cam not in d.name:
            logging.warning("json folder %s is paired with calibration camera %s", d.name, cam)
    proj = np.asarray(computeP(calib_file, undistort=False), dtype=np.float64)

    t0 = time.perf_counter()
    Pose2Sim.triangulation(config)
    seconds = time.perf_counter() - t0

    parsed = parse_log(log_lines.lines)
    if parsed["trc"]:
        trc_path = Path(parsed["trc"])
    else:
        trc_path = max((project / "pose-3d").glob("*.trc"), key=lambda p: p.stat().st_mtime)
    trc_frames, trc_coords, trc_names = read_trc(trc_path)
    if trc_names != kpt_names:
        raise SystemExit(f"trc markers {trc_names} differ from the skeleton's {kpt_names}")

    # trc (X, Y, Z) = internal (Y, Z, X) (Pose2Sim.common.zup2yup); back to the internal frame.
    points = np.full((n_frames, len(kpt_names), 3), np.nan)
    points[trc_frames] = trc_coords[..., [2, 0, 1]]
    n_layout = max(kpt_ids) + 1
    points_layout = np.full((n_frames, n_layout, 3), np.nan)
    points_layout[:, kpt_ids] = points
    points2d = read_2d(dirs, n_frames, n_layout)
    threshold = config["triangulation"]["likelihood_threshold_triangulation"]
    recomputed = reprojection_error(points, kpt_ids, points2d, proj, threshold)

    npz_path = project / "pose-3d" / "pose2sim_triangulation.npz"
    save_npz(
        npz_path,
        frames=np.arange(n_frames),
        trc_frames=trc_frames,
        points=points,
        keypoint_names=np.asarray(kpt_names),
        keypoint_ids=np.asarray(kpt_ids),
        points_layout=points_layout,
        points2d=points2d,
        P=proj,
        camera_names=np.asarray(cam_names),
        json_dirs=np.asarray([d.name for d in dirs]),
        calibration=np.asarray(str(calib_file)),
        fps=np.asarray(args.fps),
        likelihood_threshold=np.asarray(threshold),
    )
    (project / "pose-3d" / "pose2sim_triangulation.log").write_text("\n".join(log_lines.lines))

    import importlib.metadata as md

    valid = np.isfinite(points).all(-1)
    result = {
        "seconds": round(seconds, 4),
        "import_seconds": round(import_seconds, 4),
        "calibration_seconds": calibration_seconds and round(calibration_seconds, 4),
        "frames": n_frames,
        "trc_frames": len(trc_frames),
        "keypoints": len(kpt_names),
        "keypoints_triangulated": int(valid.any(0).sum()),
        "points_valid_fraction": round(float(valid.mean()), 4),
        "cameras": cam_names,
        "pose_model": model_name,
        "trc": str(trc_path),
        "npz": str(npz_path),
        "calibration": str(calib_file),
        "pose2sim": md.version("pose2sim"),
        "log_reprojection_error_px": parsed["overall_px"],
        "log_reprojection_error_mm": parsed["overall_mm"],
        "log_frames": parsed["frames"],
        "log_reprojection_error_px_per_keypoint": parsed["per_keypoint_px"],
        "log_cameras_excluded_per_keypoint": parsed["per_keypoint_cams_excluded"],
        "recomputed_reprojection_error_px": round(recomputed, 4),
    }
    if md.version("pose2sim") != POSE2SIM_VERSION:
        logging.warning("pose2sim %s, not %s", md.version("pose2sim"), POSE2SIM_VERSION)
    print(json.dumps(json_safe(result), allow_nan=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
