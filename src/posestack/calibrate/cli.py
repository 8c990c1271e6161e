"""``posestack calibrate``: the command line over :mod:`posestack.calibrate`."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def add_parser(sub) -> None:
    """Add ``calibrate`` and its subcommands to the main parser's subparsers."""
    ca = sub.add_parser("calibrate", help="calibrate cameras (from a checkerboard, or from the "
                                          "people alone)",
                        description="Calibrate cameras. 'intrinsics' fits each camera's K and "
                                    "distortion from views of a checkerboard; 'extrinsics' "
                                    "places them from scene points of known position; "
                                    "'people' finds where the cameras are from the people "
                                    "they film.")
    cas = ca.add_subparsers(dest="calibrate_command", required=True, metavar="COMMAND",
                            help="intrinsics, extrinsics or people")
    ci = cas.add_parser(
        "intrinsics", help="K and distortion of each camera from views of a checkerboard",
        description="Fit each camera's K and distortion (OpenCV's model) from views of a "
                    "checkerboard: one folder of images or one video per camera. Writes a "
                    "Pose2Sim/Anipose Calib.toml (intrinsics only: rotation and translation "
                    "zero) and prints the RMS reprojection error of every view.")
    ci.add_argument("inputs", nargs="+", type=Path, metavar="IMAGES_OR_VIDEOS",
                    help="per camera: a folder of images, a video, or image files")
    ci.add_argument("--board", required=True,
                    help="checkerboard:COLSxROWS:SQUARE_MM, counting inner corners (where four "
                         "squares meet), e.g. checkerboard:4x7:60; or "
                         "charuco:COLSxROWS:SQUARE_MM:MARKER_MM[:DICT], counting squares")
    ci.add_argument("-o", "--output", type=Path, required=True,
                    help="the Calib.toml to write (only when every camera succeeds)")
    ci.add_argument("--fisheye", action="store_true",
                    help="OpenCV's fisheye model (4 coefficients) instead of the standard one")
    ci.add_argument("--k3", action="store_true",
                    help="also fit the third radial distortion term (wide-angle lenses; "
                         "needs views that reach the image's corners)")
    ci.add_argument("--max-views", type=int, default=60,
                    help="frames sampled evenly from each video (default 60)")
    ci.add_argument("--debug", type=Path, metavar="DIR",
                    help="save each view with its detected corners as PNG into DIR/<camera>/")
    ci.set_defaults(func=_cmd_intrinsics)
    ce = cas.add_parser(
        "extrinsics", help="the cameras' positions from a ChArUco board or scene points",
        description='Place each camera in one world, from a ChArUco board every camera sees (the '
                    'corner of its first square is the origin, Z out of the board towards the '
                    'cameras: lay it face up on the floor for Z up) or from points of known world '
                    "position (metres) and where each camera sees them (Pose2Sim's 'scene' method, "
                    'the points file as input). The points file is TOML: a [world] table (name = '
                    '[x, y, z]) and one [pixels.CAMERA] table per camera (name = [x, y], pixels as '
                    'recorded); at least 4 points per camera, 6 or more spread out are better. '
                    'Writes a Calib.toml with the intrinsics given and the poses found, and prints '
                    "each camera's reprojection error.")
    ce.add_argument("inputs", nargs="*", type=Path, metavar="IMAGES_OR_VIDEOS",
                    help="with --board: per camera an image, a folder of images or a video "
                         "showing the board (the view with most corners is used)")
    ce.add_argument("--intrinsics", type=Path, required=True, metavar="FILE",
                    help="K and distortion of the cameras (any calibration file posestack "
                         "reads, e.g. the Calib.toml of 'calibrate intrinsics')")
    ce.add_argument("--points", type=Path, metavar="FILE",
                    help="the points file: [world] and [pixels.CAMERA] tables")
    ce.add_argument("--board",
                    help="charuco:COLSxROWS:SQUARE_MM:MARKER_MM[:DICT] seen by every camera "
                         "(squares counted; default dictionary DICT_4X4_50)")
    ce.add_argument("-o", "--output", type=Path, required=True,
                    help="the Calib.toml to write (only when every camera is placed)")
    ce.set_defaults(func=_cmd_extrinsics)
    cp = cas.add_parser(
        "people", help="the cameras' positions from the people they film (no board)",
        description="Calibrate synchronised cameras from the people moving in the scene: the "
                    "same person's 2D keypoints in every camera (bundles of 'posestack run' on "
                    "each video, or OpenPose json folders) give the cameras' relative poses "
                    "(essential matrices, then a bundle adjustment); the person's height "
                    "gives the scale, their feet the floor (Z up). Writes a Pose2Sim/Anipose "
                    "Calib.toml and prints each camera's reprojection error.")
    _add_2d_inputs(cp)
    cp.add_argument("-o", "--output", type=Path, required=True,
                    help="the Calib.toml to write (only when the calibration succeeds)")
    cp.add_argument("--intrinsics", type=Path, metavar="FILE",
                    help="K and distortion from any calibration file posestack reads (its "
                         "extrinsics are ignored); default: a focal length guessed from the "
                         "image size and refined, no distortion")
    cp.add_argument("--height", type=float, metavar="M",
                    help="the person's height in metres, for the scale (default 1.70, with "
                         "a warning)")
    cp.add_argument("--sync", type=Path, metavar="FILE",
                    help="the offsets 'posestack sync' wrote (default: the videos are "
                         "synchronised)")
    cp.set_defaults(func=_cmd_people)


def _add_2d_inputs(p: argparse.ArgumentParser) -> None:
    """The per-camera inputs of ``calibrate people`` and ``sync``, and their ``--fps``."""
    p.add_argument("inputs", nargs="+", type=Path, metavar="VIDEOS_OR_BUNDLES",
                   help="per camera: a video (its 2D is estimated first, in memory), a "
                        "posestack bundle (OUT/cam01) or an OpenPose json folder")
    p.add_argument("--fps", type=float,
                   help="frame rate of OpenPose json folders (default: a bundle's own)")


def add_sync_parser(sub) -> None:
    """Add ``sync`` to the main parser's subparsers."""
    sy = sub.add_parser(
        "sync", help="each camera's time offset, from the people's motion",
        description="Estimate each camera's time offset relative to the first (a fraction "
                    "of a frame) from the 2D keypoints' vertical speeds (cross-correlation); "
                    "with --calibration, from the epipolar geometry instead (it needs less "
                    "motion; only people who move count). Prints the offsets "
                    "in frames and seconds with a confidence and writes them as TOML for "
                    "'posestack calibrate people --sync', 'posestack run --sync' and "
                    "'posestack triangulate --sync'.")
    _add_2d_inputs(sy)
    sy.add_argument("-o", "--output", type=Path,
                    help="the offsets file to write (default: sync.toml in the first "
                         "input's parent folder)")
    sy.add_argument("--calibration", type=Path, metavar="FILE",
                    help="the cameras' calibration, when known: offsets from the geometry "
                         "(needs less motion)")
    sy.add_argument("--max-lag", type=float, metavar="S",
                    help="largest offset searched, seconds (default: half the shortest video, "
                         "at most 10)")
    sy.set_defaults(func=_cmd_sync)


def _check_toml_output(path: Path) -> None:
    """Refuse an output that is a folder or not a .toml file, before any work."""
    from ..errors import InputError

    if path.is_dir():
        raise InputError(f"{path} is a folder: give the .toml file to write")
    if path.suffix.lower() != ".toml":
        raise InputError(f"{path}: the result is written as TOML; name it Calib.toml (or "
                         "any .toml)")


def _cmd_extrinsics(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..multiview.calibration import Calibration, find_camera, load_calibration, save_toml
    from .extrinsics import camera_from_points, read_points

    _check_toml_output(args.output)
    if (args.points is None) == (args.board is None):
        raise InputError("give either --board (a ChArUco board every camera sees) or "
                         "--points (scene points of known position)")
    if args.points is not None and args.inputs:
        raise InputError("--points has the pixels already: give no images with it")
    lens = load_calibration(args.intrinsics)
    if args.board is not None:
        return _extrinsics_from_board(args, lens)
    pts = read_points(args.points)
    cams = []
    for name, seen in pts.pixels.items():
        c = lens[find_camera(name, lens.names, f"{args.points} [pixels.{name}]")]
        names = list(seen)
        world = np.stack([pts.world[n] for n in names])
        pix = np.stack([seen[n] for n in names])
        cam, err = camera_from_points(c, world, pix, names)
        x, y, z = cam.center
        worst = names[int(np.argmax(err))]
        print(f"{cam.name}: {len(names)} points, reprojection error RMS "
              f"{np.sqrt(np.mean(err ** 2)):.2f} px (worst {worst} {err.max():.2f} px); at "
              f"x {x:.2f} y {y:.2f} z {z:.2f} m")
        if err.max() > 10:
            print(f"warning: {cam.name}: point {worst} is {err.max():.1f} px off: check its "
                  "pixel and world position")
        cams.append(cam)
    save_toml(Calibration(tuple(cams), source=f"scene points ({args.points.name})"),
              args.output)
    print(f"-> {args.output}")
    return 0


def _extrinsics_from_board(args: argparse.Namespace, lens) -> int:
    from ..errors import InputError
    from ..multiview.calibration import Calibration, find_camera, save_toml
    from .boards import find_charuco, gray, parse_board
    from .extrinsics import cameras_from_board, require_charuco
    from .sources import group_inputs, views

    board = parse_board(args.board)
    require_charuco(board)                       # before any image is read
    if not args.inputs:
        raise InputError("--board: give one image, folder or video per camera")
    groups = group_inputs(args.inputs, image_per_camera=True)
    cams, images = [], []
    for name, files in groups:
        cams.append(lens[find_camera(name, lens.names, "--intrinsics")])
        best, most = None, -1
        for _, img in views(files, 30):     # the view that shows most of the board
            g = gray(img)
            found = find_charuco(g, board)
            n = len(found[1]) if found else 0
            if n > most:
                best, most = g, n
        images.append(best)
    placed = cameras_from_board(cams, images, board)
    for (cam, rms, n), (name, _) in zip(placed, groups, strict=True):
        x, y, z = cam.center
        print(f"{cam.name} ({name}): {n} corners, reprojection error RMS {rms:.2f} px; at "
              f"x {x:.2f} y {y:.2f} z {z:.2f} m")
    save_toml(Calibration(tuple(c for c, _, _ in placed), source=f"board {board}"),
              args.output)
    print(f"-> {args.output}")
    return 0


def _read_cameras(inputs: list[Path], fps: float | None):
    """Views, frames, names, frame rates and image sizes (None where unknown) per input."""
    import json

    from ..errors import InputError
    from ..pipeline_triangulate import read_2d_folders

    if fps is not None and not fps > 0:
        raise InputError(f"--fps must be a positive frame rate; got {fps}")
    files = [p for p in inputs if p.is_file()]
    if files and len(files) < len(inputs):
        raise InputError(f"{files[0]} is a file and {next(p for p in inputs if not p.is_file())}"
                         " is not: give either one video per camera or one 2D folder (bundle "
                         "or OpenPose json) per camera")
    if files:
        return _videos_2d(files)
    views, frames, names, _, json_fps = read_2d_folders(inputs, "auto", fps)
    rates, sizes = [], []
    for p in inputs:
        try:
            media = json.loads((p / "manifest.json").read_text())["input"]
            rates.append(float(media["fps"]))
            sizes.append((int(media["width"]), int(media["height"])))
        except (OSError, ValueError, KeyError, TypeError):
            rates.append(json_fps or 30.0)
            sizes.append(None)
    if len(set(names)) != len(names):
        raise InputError(f"two inputs are the same camera ({', '.join(names)}): give one "
                         "bundle per camera")
    return views, frames, names, rates, sizes


def _videos_2d(paths: list[Path]):
    """2D of each video, in memory (BlazePose, the defaults of 'posestack run')."""
    from ..errors import InputError
    from ..io.media import VIDEO_EXTENSIONS, probe
    from ..pipeline import _bundle_names, run

    for p in paths:
        if p.suffix.lower() not in VIDEO_EXTENSIONS:
            raise InputError(f"{p} is not a video: give one video, or one 2D folder (bundle "
                             "or OpenPose json), per camera")
    infos = [probe(p) for p in paths]
    results = run(paths, None, video=False)
    return ([r.keypoints2d for r in results], [np.asarray(r.frames) for r in results],
            list(_bundle_names(paths)), [i.fps or 30.0 for i in infos],
            [(i.width, i.height) for i in infos])


def _cmd_people(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..multiview.calibration import load_calibration, save_toml
    from .joint import calibrate_and_sync
    from .people import check_height
    from .sync import read_offsets

    _check_toml_output(args.output)
    check_height(args.height)
    intrinsics = load_calibration(args.intrinsics) if args.intrinsics else None
    offsets = read_offsets(args.sync) if args.sync else {}
    views, frames, names, rates, sizes = _read_cameras(args.inputs, args.fps)
    for i, (n, s) in enumerate(zip(names, sizes, strict=True)):
        if s is None:
            if intrinsics is None:
                raise InputError(f"{args.inputs[i]}: OpenPose json does not say the image "
                                 "size: give --intrinsics")
            from ..multiview.calibration import find_camera

            sizes[i] = intrinsics[find_camera(n, intrinsics.names, "--intrinsics")].size
    unknown = set(offsets) - set(names)
    if unknown:
        raise InputError(f"{args.sync} has cameras {sorted(unknown)} that are not among the "
                         f"inputs ({', '.join(names)})")
    # the offsets given (none: the videos are synchronised), not searched for
    res = calibrate_and_sync(views, frames, names, sizes, rates, intrinsics=intrinsics,
                             height=args.height,
                             offsets={n: offsets.get(n, 0.0) for n in names}).calibration
    for n in names:
        cam = res.calibration[n]
        x, y, z = cam.center
        print(f"{n}: reprojection error {res.errors[n]:.2f} px (median); at x {x:.2f} y "
              f"{y:.2f} z {z:.2f} m; fx {cam.K[0, 0]:.0f} px; person {res.people[n]}")
    print(f"{res.points} points; scale from a height of {res.height:.2f} m")
    for w in res.warnings:
        print(f"warning: {w}")
    save_toml(res.calibration, args.output)
    print(f"-> {args.output}")
    return 0


def _cmd_sync(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..multiview.calibration import load_calibration, match_videos
    from .sync import estimate_offsets, save_offsets

    if args.max_lag is not None and not args.max_lag > 0:
        raise InputError(f"--max-lag must be a positive number of seconds; got {args.max_lag}")
    out = args.output or args.inputs[0].absolute().parent / "sync.toml"
    _check_toml_output(out)
    calib = load_calibration(args.calibration) if args.calibration else None
    views, frames, names, rates, _ = _read_cameras(args.inputs, args.fps)
    if calib is not None:
        calib = match_videos(calib, names)
    res = estimate_offsets(views, names, rates, frames=frames, max_lag=args.max_lag,
                           calibration=calib)
    for c in res.cameras:
        how = (f"epipolar error {c.epipolar_px:.1f} px" if c.epipolar_px == c.epipolar_px
               else f"correlation {c.correlation:.2f}, margin {c.margin:.2f}")
        print(f"{c.name}: offset {c.frames:+.2f} frames = {c.seconds:+.4f} s ({how})")
    for w in res.warnings:
        print(f"warning: {w}")
    save_offsets(res, out)
    print(f"-> {out}")
    return 0


def _cmd_intrinsics(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..multiview.calibration import Calibration, save_toml
    from .boards import parse_board
    from .intrinsics import calibrate_intrinsics
    from .sources import group_inputs, views

    board = parse_board(args.board)                 # everything checked before any work
    groups = group_inputs(args.inputs)
    if args.max_views < 4:
        raise InputError(f"--max-views must be at least 4; got {args.max_views}")
    _check_toml_output(args.output)
    cams = []
    for name, files in groups:
        debug = args.debug / name if args.debug else None
        res = calibrate_intrinsics(views(files, args.max_views), board, name=name,
                                   fisheye=args.fisheye, k3=args.k3, debug_dir=debug)
        cam = res.camera
        print(f"{name}: {len(res.used)} of {len(res.views)} views used, RMS {res.rms:.3f} px; "
              f"fx {cam.K[0, 0]:.1f} fy {cam.K[1, 1]:.1f} cx {cam.K[0, 2]:.1f} "
              f"cy {cam.K[1, 2]:.1f} px; distortion {' '.join(f'{d:.4f}' for d in cam.dist)}")
        for v in res.views:
            err = f"{v.rms:.3f} px" if v.status == "used" else ""
            print(f"  {v.source}: {v.status} {err}".rstrip())
        for w in res.warnings:
            print(f"warning: {w}")
        cams.append(cam)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    save_toml(Calibration(tuple(cams), source=f"checkerboard views ({board})"), args.output)
    print(f"-> {args.output}")
    return 0
