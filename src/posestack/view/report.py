"""``posestack report``: one self-contained HTML file of a bundle, to share.

The page opens without a network (no CDN, no external fonts or scripts): the overlay
video as a ``data:`` URI (linked instead when it is over :data:`EMBED_LIMIT` bytes),
joint-angle plots as inline SVG with the normal range shaded where one applies, a
range-of-motion table per person with left/right symmetry, a hand-written canvas
player of the 3D skeleton (or the 2D keypoints when the bundle has no 3D), the run's
settings and warnings from ``manifest.json``, and a note of what the bundle lacks and
which command makes it.

Numbers come from :mod:`posestack.view.report_data` (pure functions); this module
reads the bundle and writes the page (atomically: a failed rerun leaves the previous
report as it was).
"""

from __future__ import annotations

import base64
import html
import json
import os
import shlex
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from . import report_data as rd
from .report_static import CSS, PLAYER_COLOURS, PLAYER_JS

EMBED_LIMIT = 50 * 1024 * 1024
"""Bytes: a video larger than this is linked (relative path), not embedded."""
EMBED_TOTAL = 120 * 1024 * 1024
"""Bytes: videos are embedded while their total stays under this; later ones are linked."""

ANGLE_FILES = ("angles.parquet", "angles_ik.parquet", "angles_opensim.parquet")
"""Angle tables, in the order the report prefers them."""
KIND_TEXT = {"planar": "2D planar angles (Sports2D conventions)",
             "joint3d": "3D joint angles (ISB conventions)",
             "ik": "3D joint angles from the skeletal IK (ISB conventions)"}


# --------------------------------------------------------------------------------------
# What the bundle holds
# --------------------------------------------------------------------------------------

@dataclass
class BundleFiles:
    """The files of a bundle the report uses (``None`` / empty where absent)."""

    folder: Path
    manifest: dict[str, Any]
    multiview: bool
    videos: list[tuple[str, Path]] = field(default_factory=list)
    image: Path | None = None
    angles: Path | None = None
    other_angles: list[Path] = field(default_factory=list)
    keypoints3d: Path | None = None
    keypoints2d: Path | None = None


def _bundle_error(folder: Path) -> InputError:
    hint = ""
    if folder.is_dir():
        inner = sorted((p.parent.name for p in folder.glob("*/manifest.json")),
                       key=lambda n: (n != "multiview", n))
        if inner:
            hint = (" It holds bundles: " + ", ".join(inner[:8]) +
                    f" — give one of them, e.g. `posestack report {folder / inner[0]}`.")
    what = "does not exist" if not folder.exists() else \
        "is not a folder" if not folder.is_dir() else "has no manifest.json"
    return InputError(f"{folder} is not a posestack bundle: it {what}. Give the folder "
                      "that `posestack run` wrote (OUT/<name>, or OUT/multiview for several "
                      "cameras)." + hint)


def find_files(folder: str | os.PathLike) -> BundleFiles:
    """Look at a bundle folder: its manifest and the files the report can use.

    Raises:
        InputError: not a bundle (no ``manifest.json``) or the manifest cannot be read;
            the message names the path and what to give instead.
    """
    folder = Path(folder)
    path = folder / "manifest.json"
    if not folder.is_dir() or not path.is_file():
        raise _bundle_error(folder)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{path} cannot be read ({e}); rerun the `posestack run` that "
                         "wrote this bundle with --force") from None
    if not isinstance(manifest, dict):
        raise InputError(f"{path} is not a posestack manifest (not a JSON object); rerun "
                         "the `posestack run` that wrote this bundle with --force")
    multiview = "calibration" in manifest or "sources" in manifest
    files = BundleFiles(folder, manifest, multiview)
    if (folder / "overlay.mp4").is_file():
        files.videos.append((folder.name, folder / "overlay.mp4"))
    for p in sorted(folder.glob("overlay_*.mp4")):
        files.videos.append((p.stem[len("overlay_"):], p))
    if (folder / "overlay.png").is_file():
        files.image = folder / "overlay.png"
    tables = [folder / n for n in ANGLE_FILES if (folder / n).is_file()]
    if tables:
        files.angles, files.other_angles = tables[0], tables[1:]
    for name in ("keypoints3d.parquet", "keypoints3d_body.parquet",
                 "keypoints3d_lifted.parquet"):
        if (folder / name).is_file():
            files.keypoints3d = folder / name
            break
    if (folder / "keypoints2d.parquet").is_file():
        files.keypoints2d = folder / "keypoints2d.parquet"
    return files


# run parameters said by a flag alone when they differ from the default
_NEGATED = {"video": "--no-video", "track": "--no-track", "smooth": "--no-smooth",
            "autorotate": "--no-autorotate", "fix_swaps": "--no-swap-fix"}
# derived or not options of `run`
_NOT_OPTIONS = {"keypoints_from", "min_detection_confidence", "min_tracking_confidence"}


def _options(params: dict, drop: tuple[str, ...] = ()) -> list[str]:
    """The ``run`` options that reproduce the manifest's parameters (those that differ
    from the defaults), less ``drop``."""
    import dataclasses

    from ..pipeline import RunParameters

    out: list[str] = []
    for f in dataclasses.fields(RunParameters):
        name = f.name
        if name not in params or name in drop or name in _NOT_OPTIONS:
            continue
        value = params[name]
        if value == f.default or (name == "smooth" and value is not False):
            continue
        if name in _NEGATED:
            out.append(_NEGATED[name] if value is False else "")
        elif name == "lift":
            out.append("--lift" if value == "posestack" else f"--lifter {shlex.quote(value)}")
        elif isinstance(value, bool):
            out.append(f"--{name.replace('_', '-')}" if value else "")
        else:
            out.append(f"--{name.replace('_', '-')} {shlex.quote(str(value))}")
    return [o for o in out if o]


def _input_command(files: BundleFiles, drop: tuple[str, ...] = ()) -> str:
    """``posestack run INPUT -o OUT`` with the run's own options (less ``drop``) for this
    bundle, as well as the manifest says."""
    m, out = files.manifest, shlex.quote(str(files.folder.parent))
    opts = _options(m.get("parameters") or {}, drop)
    tail = "".join(f" {o}" for o in opts)
    if files.multiview:
        sources = [Path(s) for s in m.get("sources") or []]
        videos = str(Path(os.path.commonpath([str(s.parent) for s in sources]))) \
            if sources else "VIDEOS_FOLDER"
        calib = (m.get("calibration") or {}).get("path") or "CALIBRATION"
        return (f"posestack run {shlex.quote(videos)} --calibration {shlex.quote(calib)} "
                f"-o {out}{tail}")
    source = (m.get("input") or {}).get("path") or "INPUT"
    return f"posestack run {shlex.quote(str(source))} -o {out}{tail}"


def missing_notes(files: BundleFiles) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """What the bundle lacks: ``(missing, optional)``, each a list of ``(what, how to make
    it)`` in plain words with the command; ``optional`` lists extras never asked for."""
    params = files.manifest.get("parameters") or {}
    run = _input_command(files)
    missing: list[tuple[str, str]] = []
    optional: list[tuple[str, str]] = []
    if not files.videos and files.image is None:
        if params.get("video") is False:
            how = ("the run had --no-video; run it again without it: "
                   f"<code>{_e(_input_command(files, drop=('video',)))}</code>")
        else:
            how = f"make it again with <code>{_e(run)} --force</code>"
        missing.append(("No overlay video", how))
    if files.angles is None:
        missing.append(("No joint angles (angles.parquet)",
                        f"every run writes them; make them again with <code>{_e(run)} "
                        "--force</code>"))
    if files.keypoints3d is None:
        if files.multiview:
            how = f"make the 3D again with <code>{_e(run)} --force</code>"
        else:
            how = ("3D comes from one camera with the BlazePose or Holistic estimator "
                   f"(<code>{_e(run)} --estimator blazepose</code>: body-centred 3D), or "
                   "from several calibrated cameras (<code>posestack run VIDEOS_FOLDER "
                   "--calibration CALIB -o OUT</code>: 3D in the world)")
        missing.append(("No 3D keypoints", how))
    if files.multiview:
        if not (files.folder / "angles_ik.parquet").is_file():
            optional.append(("Skeletal IK angles (angles_ik.parquet)",
                             f"<code>{_e(run)} --ik</code>"))
        if not (files.folder / "angles_opensim.parquet").is_file():
            optional.append(("OpenSim IK (angles_opensim.parquet)",
                             f"<code>{_e(run)} --opensim</code> (needs posestack[biomech])"))
    return missing, optional


# --------------------------------------------------------------------------------------
# HTML pieces
# --------------------------------------------------------------------------------------

def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _num(v: float, digits: int = 1) -> str:
    return "—" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def _value(v: Any) -> str:
    """A manifest value as readable text (escaped)."""
    if v is None:
        return '<span class="muted">—</span>'
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return _e(f"{v:.6g}")
    if isinstance(v, list) and all(not isinstance(x, (dict, list)) for x in v):
        return _e(", ".join(str(x) for x in v)) if v else '<span class="muted">none</span>'
    if isinstance(v, (dict, list)):
        return f"<code>{_e(json.dumps(v, separators=(', ', ': ')))}</code>"
    return _e(v)


def _kv_table(d: dict[str, Any], flatten: bool = True) -> str:
    rows = []

    def walk(prefix: str, v: Any) -> None:
        if flatten and isinstance(v, dict) and v:
            for k, x in v.items():
                walk(f"{prefix}.{k}" if prefix else str(k), x)
        else:
            rows.append(f"<tr><td>{_e(prefix)}</td><td>{_value(v)}</td></tr>")

    for k, v in d.items():
        walk(str(k), v)
    return '<table class="kv">' + "".join(rows) + "</table>" if rows else \
        '<p class="muted">none recorded</p>'


def _data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _relative(path: Path, html_dir: Path) -> str:
    from urllib.parse import quote

    rel = os.path.relpath(path.resolve(), html_dir.resolve())
    return quote(Path(rel).as_posix())


def video_section(files: BundleFiles, html_dir: Path) -> str:
    """The overlay video(s): embedded as ``data:`` URIs up to :data:`EMBED_LIMIT` bytes
    each (and :data:`EMBED_TOTAL` together), else linked by a path relative to the page;
    several cameras get a selector."""
    if files.image is not None and not files.videos:
        return (f'<img alt="overlay" style="width:100%;border-radius:4px" '
                f'src="{_data_uri(files.image, "image/png")}">')
    if not files.videos:
        return '<p class="muted">No overlay video in this bundle (see “Missing” above).</p>'
    parts, total = [], 0
    for i, (camera, path) in enumerate(files.videos):
        size = path.stat().st_size
        hidden = "" if i == 0 else ' style="display:none"'
        if size <= EMBED_LIMIT and total + size <= EMBED_TOTAL:
            total += size
            parts.append(f'<video class="overlay-video" data-camera="{_e(camera)}"{hidden} '
                         f'controls preload="metadata" playsinline '
                         f'src="{_data_uri(path, "video/mp4")}"></video>')
        else:
            rel = _relative(path, html_dir)
            parts.append(f'<div class="overlay-video callout info" data-camera="{_e(camera)}"'
                         f'{hidden}><p>The overlay video {_e(path.name)} is '
                         f'{size / 1024**2:.0f} MB, too large to embed in this page '
                         f"(limit {EMBED_LIMIT / 1024**2:.0f} MB). It plays from the file "
                         "beside the report when the bundle folder is kept with it:</p>"
                         f'<video controls preload="metadata" src="{rel}"></video>'
                         f'<p class="small"><a href="{rel}">{_e(path.name)}</a></p></div>')
    select = ""
    if len(files.videos) > 1:
        options = "".join(f'<option value="{_e(c)}">{_e(c)}</option>'
                          for c, _ in files.videos)
        select = (f'<div class="controls" style="margin:0 0 8px"><label for="camera-select">'
                  f'Camera</label><select id="camera-select">{options}</select></div>')
    return select + "".join(parts)


def _space_and_skeleton(table, files: BundleFiles) -> tuple[str, str]:
    md = table.schema.metadata or {}
    space = md.get(b"posestack.space", b"").decode()
    name = md.get(b"posestack.skeleton", b"").decode()
    if not name:
        sk = files.manifest.get("skeleton")
        name = sk if isinstance(sk, str) else (sk or {}).get("keypoints2d", "")
    return space, name


def player_section(files: BundleFiles) -> tuple[str, dict | None]:
    """The skeleton player's markup and its data (``None`` when there are no keypoints)."""
    from ..io.tables import read_parquet
    from ..skeletons import get_skeleton

    path = files.keypoints3d or files.keypoints2d
    if path is None:
        return ('<p class="muted">No keypoints in this bundle: nothing to play.</p>', None)
    table = read_parquet(path, what="keypoint table")
    space, name = _space_and_skeleton(table, files)
    skeleton = get_skeleton(name)
    camera = None
    if files.keypoints3d is None and "camera" in table.column_names and table.num_rows:
        camera = str(table.column("camera")[0])
    times, persons, coords = rd.keypoint_arrays(table, skeleton.keypoints, camera)
    data = rd.player_data(times, coords, persons, skeleton.keypoints, skeleton.edges,
                          space or ("world" if files.multiview else "body"))
    if files.keypoints3d is None:
        note = ("<p><strong>No 3D in this bundle</strong>: the player shows the 2D keypoints "
                f"of {_e(path.name)} (camera {_e(camera or '?')}, pixels, image view).</p>")
    elif files.multiview:
        note = (f'<p class="small muted">{_e(path.name)}: triangulated 3D in the world, '
                "metres; viewed across the direction of travel.</p>")
    else:
        what = ("lifted 3D (--lift)" if path.name == "keypoints3d_lifted.parquet" else
                "BlazePose world landmarks")
        note = (f'<p class="small muted">{_e(path.name)}: {what}, metres, '
                "centred between the hips (no travel through the room"
                + ("; people side by side" if len(persons) > 1 else "") +
                "); first seen from the camera."
                + (" The bundle also holds keypoints3d_lifted.parquet (--lift), not played "
                   "here: <code>posestack view</code> shows both."
                   if path.name != "keypoints3d_lifted.parquet"
                   and (files.folder / "keypoints3d_lifted.parquet").is_file() else "")
                + "</p>")
    sub = ""
    if len(data["times"]) < len(times):
        sub = f" Shown at every {int(np.ceil(len(times) / len(data['times'])))}th frame."
    legend = "".join(f'<span><span class="sw" style="background:{c}"></span>{w}</span>'
                     for w, c in zip(("left side", "right side", "midline"),
                                     PLAYER_COLOURS.values(), strict=True))
    markup = (f'{note}<canvas id="player" width="640" height="420"></canvas>'
              '<div class="controls"><button id="player-play" type="button">Play</button>'
              '<input id="player-slider" type="range" min="0" max="0" value="0" step="1" '
              'aria-label="time">'
              '<select id="player-speed" aria-label="speed"><option value="0.25">0.25×'
              '</option><option value="0.5">0.5×</option><option value="1" selected>1×'
              '</option><option value="2">2×</option></select>'
              '<span id="player-time" class="time"></span></div>'
              f'<div class="legend">{legend}</div>'
              + (f'<p class="small muted">{sub.strip()}</p>' if sub else ""))
    return markup, data


def rom_section(rows: list[rd.RomRow], sym: list[rd.SymmetryRow], person: int,
                kind: str) -> str:
    """The range-of-motion table of one person and its left/right symmetry table."""
    body = []
    for r in (r for r in rows if r.person == person):
        lo_out = r.normal is not None and np.isfinite(r.minimum) and r.minimum < r.normal.low
        hi_out = r.normal is not None and np.isfinite(r.maximum) and r.maximum > r.normal.high
        def cell(stat: str, v: float, out: bool = False) -> str:
            attrs = ' class="n out" title="outside the normal range"' if out else ' class="n"'
            return f'<td{attrs} data-stat="{stat}">{_num(v)}</td>'

        side, quantity = rd.split_side(r.angle)
        label = rd.quantity_label(quantity, kind) + (f" — {side}" if side else "") + \
            (" †" if r.unwrapped else "")
        normal = (f"{r.normal.low:g} to {r.normal.high:g}" if r.normal else
                  '<span class="muted">—</span>')
        body.append(f'<tr data-person="{person}" data-angle="{_e(r.angle)}">'
                    f'<td>{_e(label)}<br><code class="small">{_e(r.angle)}</code></td>'
                    f'{cell("min", r.minimum, lo_out)}{cell("max", r.maximum, hi_out)}'
                    f'{cell("mean", r.mean)}{cell("range", r.range)}'
                    f'<td class="n" data-stat="frames">{r.frames}</td>'
                    f'<td class="n">{normal}</td></tr>')
    table = ('<table class="rom"><thead><tr><th>Angle</th><th class="n">Min (°)</th>'
             '<th class="n">Max (°)</th><th class="n">Mean (°)</th><th class="n">Range (°)'
             '</th><th class="n">Frames</th><th class="n">Normal range (°)</th></tr></thead>'
             f'<tbody>{"".join(body)}</tbody></table>')
    srows = [s for s in sym if s.person == person]
    if srows:
        sbody = "".join(
            f'<tr data-person="{person}" data-quantity="{_e(s.quantity)}">'
            f"<td>{_e(rd.quantity_label(s.quantity, kind))}</td>"
            f'<td class="n" data-stat="left">{_num(s.left_range)}</td>'
            f'<td class="n" data-stat="right">{_num(s.right_range)}</td>'
            f'<td class="n" data-stat="si">{_num(s.index)}</td></tr>' for s in srows)
        table += ('<h3>Left/right symmetry</h3><table class="sym"><thead><tr><th>Quantity'
                  '</th><th class="n">Left range (°)</th><th class="n">Right range (°)</th>'
                  '<th class="n">Symmetry index (%)</th></tr></thead>'
                  f"<tbody>{sbody}</tbody></table>")
    if any(r.unwrapped for r in rows if r.person == person):
        table += ('<p class="small muted">† the values cross ±180°; they are shown on a '
                  "continuous branch (e.g. 190° for −170°) so that the range is the motion "
                  "that happened, not the jump at the cut.</p>")
    return table


def settings_section(files: BundleFiles) -> str:
    """The run's input, parameters, models, versions, timings, accuracy and warnings."""
    m = files.manifest
    out = []
    if files.multiview:
        src = {"videos": m.get("sources"), "calibration": m.get("calibration"),
               "offsets": m.get("offsets"), "frames": m.get("frames")}
        out.append("<h3>Input</h3>" + _kv_table(src))
    else:
        out.append("<h3>Input</h3>" + _kv_table({"input": m.get("input") or {},
                                                 "frames": m.get("frames") or {}}))
    out.append("<h3>Parameters</h3>" + _kv_table(m.get("parameters") or {}))
    models = m.get("models") or []
    if models:
        rows = "".join(f"<tr><td>{_e(x.get('name', ''))}</td><td><code title="
                       f"\"{_e(x.get('sha256', ''))}\">{_e(str(x.get('sha256', ''))[:16])}…"
                       f"</code></td><td class=\"small\">{_e(x.get('file', ''))}</td></tr>"
                       for x in models if isinstance(x, dict))
        out.append("<h3>Models</h3><table><thead><tr><th>Model</th><th>SHA-256</th>"
                   f"<th>File</th></tr></thead><tbody>{rows}</tbody></table>")
    for key, title in (("skeleton", "Skeleton"), ("people", "People"),
                       ("accuracy", "Accuracy"), ("detection", "Detection"),
                       ("versions", "Versions"), ("timings", "Timings")):
        v = m.get(key)
        if v not in (None, {}, []):
            out.append(f"<h3>{title}</h3>" + (_kv_table(v) if isinstance(v, dict)
                                              else f"<p>{_value(v)}</p>"))
    full = _e(json.dumps(m, indent=2, ensure_ascii=False))
    out.append(f"<details><summary>Full manifest.json</summary><pre>{full}</pre></details>")
    return "".join(out)


def _warnings(files: BundleFiles) -> list[str]:
    w = files.manifest.get("warnings") or []
    return [str(x) for x in (w if isinstance(w, list) else [w])]


def _cards(files: BundleFiles, series: rd.AngleSeries | None, player: dict | None) -> str:
    m = files.manifest
    cards = []
    times = player["times"] if player else (list(series.times) if series else [])
    if len(times) > 1:
        cards.append(("Duration", f"{times[-1] - times[0]:.2f} s"))
    frames = m.get("frames") or {}
    count = frames.get("processed", frames.get("count"))
    if count is not None:
        cards.append(("Frames", str(count)))
    people = player["persons"] if player else (list(series.persons) if series else [])
    cards.append(("People", str(len(people))))
    if files.multiview:
        cams = (m.get("calibration") or {}).get("cameras") or [c for c, _ in files.videos]
        cards.append(("Cameras", str(len(cams))))
    else:
        inp = m.get("input") or {}
        if inp.get("fps"):
            cards.append(("Video", f"{inp.get('width')}×{inp.get('height')} · "
                                   f"{float(inp['fps']):g} fps"))
    if player:
        cards.append(("Keypoints", "3D" if player["mode"] == "3d" else "2D only"))
    cards.append(("Warnings", str(len(_warnings(files)))))
    return '<div class="cards">' + "".join(
        f'<div class="card"><div class="k">{_e(k)}</div><div class="v">{_e(v)}</div></div>'
        for k, v in cards) + "</div>"


# --------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------

def build_html(files: BundleFiles, html_dir: Path) -> str:
    """The whole report page for a bundle (``html_dir``: where the page will be written,
    for relative links to videos too large to embed)."""
    from ..io.tables import read_parquet

    m = files.manifest
    series = None
    if files.angles is not None:
        series = rd.angle_series(read_parquet(files.angles, what="angles table"))
    player_markup, player = player_section(files)
    missing, optional = missing_notes(files)
    name = files.folder.name
    if files.multiview and name == "multiview":
        name = f"{files.folder.resolve().parent.name} (multiview)"
    source = (m.get("input") or {}).get("path") if not files.multiview else \
        f"{len(m.get('sources') or [])} cameras · calibration " \
        f"{Path((m.get('calibration') or {}).get('path', '?')).name}"
    created = str(m.get("created", ""))
    try:
        created = datetime.fromisoformat(created).astimezone(UTC) \
            .strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        pass
    top = (f'<header class="top"><h1>Movement report — {_e(name)}</h1>'
           f'<div class="sub">{_e(source or "")} · analysed {_e(created)} · posestack '
           f'{_e(m.get("posestack", ""))}</div></header>')
    parts = [_cards(files, series, player)]
    warnings = _warnings(files)
    if warnings:
        parts.append('<div class="callout warnings"><h3>Warnings from the run</h3><ul>' +
                     "".join(f"<li>{_e(w)}</li>" for w in warnings) + "</ul></div>")
    if missing:
        parts.append('<div class="callout missing" id="missing"><h3>Missing from this bundle'
                     "</h3><ul>" + "".join(f"<li><strong>{_e(w)}</strong>: {h}</li>"
                                           for w, h in missing) + "</ul></div>")
    if optional:
        parts.append('<div class="callout info"><h3>Not computed (optional)</h3><ul>' +
                     "".join(f"<li>{_e(w)}: {h}</li>" for w, h in optional) + "</ul></div>")
    parts.append('<section id="movement"><h2>Movement</h2><div class="movement">'
                 f'<div class="panel"><h3>Skeleton</h3>{player_markup}</div>'
                 f'<div class="panel"><h3>Overlay video</h3>{video_section(files, html_dir)}'
                 "</div></div></section>")
    shown: dict[str, rd.NormalRange] = {}
    if series is not None:
        rows = rd.rom_rows(series)
        sym = rd.symmetry_rows(rows)
        for r in rows:
            if r.normal is not None:
                shown.setdefault(rd.split_side(r.angle)[1], r.normal)
        kind_text = KIND_TEXT.get(series.kind, f"angles ({series.kind or 'unknown kind'})")
        intro = (f'<p class="muted small">From <code>{_e(files.angles.name)}</code>: '
                 f"{_e(kind_text)}, degrees. Statistics over the frames where the angle is "
                 "defined; values outside the normal range are in red.</p>")
        if series.kind == "planar":
            intro += ('<p class="muted small">2D angles are measured in the image plane: the '
                      "hip, knee, ankle, shoulder and elbow angles equal clinical flexion "
                      "only when the camera sees the movement side-on.</p>")
        if files.other_angles:
            intro += ('<p class="muted small">Also in this bundle: ' + ", ".join(
                f"<code>{_e(p.name)}</code>" for p in files.other_angles) + ".</p>")
        rom = [intro] + [f'<h3>Person {p}</h3>' + _few_frames_note(rows, p)
                         + rom_section(rows, sym, p, series.kind) for p in series.persons]
        parts.append('<section id="rom"><h2>Range of motion</h2>' + "".join(rom) +
                     "</section>")
        legend = ('<div class="legend">' + "".join(
            f'<span><span class="sw" style="background:{c}"></span>{w}</span>'
            for w, c in (("left", rd.LEFT), ("right", rd.RIGHT), ("midline", rd.MIDDLE)))
            + '<span><span class="band"></span>normal range</span></div>')
        plots = []
        for p in series.persons:
            empty = [r.angle for r in rows if r.person == p and r.frames == 0]
            note = ('<p class="small muted">No values (keypoints missing in every frame): ' +
                    ", ".join(f"<code>{_e(a)}</code>" for a in empty) + ".</p>") if empty else ""
            plots.append(f'<h3>Person {p}</h3><div class="plot">'
                         f"{rd.plot_person_svg(series, p)}{note}</div>")
        parts.append('<section id="angles"><h2>Joint angles over time</h2>' + legend +
                     "".join(plots) + "</section>")
    else:
        parts.append('<section id="rom"><h2>Range of motion</h2><p class="muted">No angles '
                     "in this bundle (see “Missing” above).</p></section>")
    parts.append(f'<section id="settings"><h2>Run settings</h2>{settings_section(files)}'
                 "</section>")
    methods = ['<p><strong>Symmetry index</strong> = 100 · |L − R| / ((L + R) / 2), from the '
               "left and right ranges of motion (max − min); 0 % is perfectly symmetric.</p>"]
    if shown:
        sources = sorted({r.source for r in shown.values()})
        methods.append("<p><strong>Normal ranges shown</strong> (healthy adults' active "
                       "range of motion, shaded in the plots; not task-specific norms): " +
                       "; ".join(f"{_e(rd.quantity_label(q, series.kind if series else ''))}"
                                 f" {_e(r.text)}" for q, r in shown.items()) +
                       ". Source: " + _e("; ".join(sources)) + ". Other angles have no "
                       "range shown: their definition does not match a clinical range.</p>")
    elif series is not None:
        methods.append("<p>No normal ranges are shown: none of these angles matches the "
                       "definition of a published clinical range.</p>")
    methods.append("<p>Angle definitions, signs and zero poses: posestack's docs/angles.md. "
                   "This report describes measured movement from video; it is not a "
                   "diagnosis.</p>")
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    footer = (f'<footer><h3 style="margin-top:0">Methods</h3>{"".join(methods)}'
              f"<p>Report written {now} from <code>{_e(files.folder)}</code>.</p></footer>")
    script = ""
    if player is not None:
        blob = json.dumps(player, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
        script = f'<script type="application/json" id="player-data">{blob}</script>'
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Movement report — {_e(name)}</title><style>{CSS}</style></head>"
            f'<body><div class="page">{top}<main>{"".join(parts)}</main>{footer}</div>'
            f"{script}<script>{PLAYER_JS}</script></body></html>\n")


FEW_FRAMES = 15  # a person seen in fewer frames gets a warning over their figures


def _few_frames_note(rows, person: int) -> str:
    """A warning above the tables of a person seen in only a few frames."""
    n = max((r.frames for r in rows if r.person == person), default=0)
    if n >= FEW_FRAMES:
        return ""
    return (f'<p class="small warn-inline">Seen in only {n} frame{"s" * (n != 1)}: these '
            "ranges and symmetry indices rest on too little data to mean much.</p>")


def report(bundle: str | os.PathLike, output: str | os.PathLike | None = None) -> Path:
    """Write the self-contained HTML report of a bundle and return its path.

    Args:
        bundle: a bundle folder (``OUT/<name>``) or a multiview folder (``OUT/multiview``).
        output: the HTML file (default ``BUNDLE/report.html``; a folder: ``report.html``
            in it).

    Raises:
        InputError: not a bundle, or a table in it cannot be read (the message names the
            file and the fix). Nothing is written then, and an existing report stays.
    """
    from ..io.atomic import atomic_path

    files = find_files(bundle)
    out = Path(output) if output is not None else files.folder / "report.html"
    if out.is_dir():
        out = out / "report.html"
    page = build_html(files, out.parent)
    with atomic_path(out) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return out
