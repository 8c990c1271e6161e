"""``posestack report``: one self-contained HTML page per bundle, checked on real bundles
of the sample videos and rendered in headless Chromium."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pyarrow.parquet as pq
import pytest

from posestack.cli import main
from posestack.errors import InputError
from posestack.view import report as report_mod
from posestack.view.report import report
from posestack.view.report_data import continuous_branch, normal_range, split_side, symmetry_index
from posestack.view.report_static import PLAYER_BACKGROUND, PLAYER_COLOURS

from .browser import CHROMIUM, screenshot

pytestmark = pytest.mark.assets


@pytest.fixture(scope="module")
def bundle2d(tmp_path_factory, sports2d_video) -> Path:
    """Sports2D sample, 2 s (the second person enters at 1.5 s): angles, BlazePose 3D,
    overlay.mp4."""
    out = tmp_path_factory.mktemp("report2d")
    assert main(["run", str(sports2d_video), "-o", str(out), "--end", "2",
                 "--max-people", "2", "-q"]) == 0
    return out / sports2d_video.stem


@pytest.fixture(scope="module")
def bundle_mv(tmp_path_factory, p2s_videos) -> Path:
    """Pose2Sim sample, 4 cameras, 0.4 s: world 3D, ISB angles, overlay_<camera>.mp4."""
    out = tmp_path_factory.mktemp("reportmv")
    assert main(["run", str(p2s_videos), "-o", str(out), "--layout", "halpe26",
                 "--end", "0.4", "--filter", "butterworth", "-q"]) == 0
    return out / "multiview"


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------

def _no_network(page: str) -> None:
    refs = re.findall(r"""(?:src|href|action|poster)\s*=\s*["']?\s*(?:https?:)?//""", page,
                      re.IGNORECASE)
    assert not refs, refs
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", page)
    assert "@import" not in page


def _rom_in_page(page: str) -> dict[tuple[int, str], dict[str, float]]:
    """{(person, angle): {stat: value}} from the ROM table's cells."""
    out = {}
    for m in re.finditer(r'<tr data-person="(\d+)" data-angle="([^"]+)">(.*?)</tr>', page, re.S):
        cells = dict(re.findall(r'data-stat="(\w+)"[^>]*>([^<]*)<', m.group(3)))
        out[int(m.group(1)), m.group(2)] = {
            k: (float("nan") if v == "—" else float(v)) for k, v in cells.items()}
    return out


def _check_rom(page: str, angles: Path) -> int:
    """Every ROM cell equals min/max/mean/range computed here from the table."""
    t = pq.read_table(angles).to_pydict()
    person = np.asarray(t["person"])
    name = np.asarray([str(a) for a in t["angle"]])
    deg = np.asarray(t["degrees"], float)
    shown = _rom_in_page(page)
    assert shown
    checked = 0
    for (p, a), cells in shown.items():
        v = deg[(person == p) & (name == a)]
        v = v[np.isfinite(v)]
        assert cells["frames"] == v.size
        if v.size == 0:
            assert np.isnan(cells["min"]) and np.isnan(cells["range"])
            continue
        if np.ptp(v) <= 180:
            want = {"min": v.min(), "max": v.max(), "mean": v.mean(), "range": np.ptp(v)}
            for stat, value in want.items():
                assert cells[stat] == pytest.approx(value, abs=0.051), (p, a, stat)
        else:  # crosses ±180°: the range is the smallest arc holding every value
            m = np.sort(np.mod(v, 360))
            arc = 360 - np.max(np.diff(np.concatenate([m, [m[0] + 360]])))
            assert cells["range"] == pytest.approx(min(arc, np.ptp(v)), abs=0.051), (p, a)
            assert cells["max"] - cells["min"] == pytest.approx(cells["range"], abs=0.11)
        checked += 1
    return checked


def _canvas_draws_skeleton(png: Path) -> None:
    """The page is not blank, and inside the player canvas (found by its background
    colour) the skeleton's left/right colours are drawn."""
    img = cv2.cvtColor(cv2.imread(str(png)), cv2.COLOR_BGR2RGB).astype(int)
    assert img.std() > 20                                   # not a blank page
    bg = np.array([int(PLAYER_BACKGROUND[i:i + 2], 16) for i in (1, 3, 5)])
    mask = (np.abs(img - bg) <= 2).all(-1).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((11, 11), np.uint8))  # over lines
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    assert n > 1, "no player canvas on the page"
    big = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))           # the canvas
    x0, y0, w, h, area = stats[big]
    assert area > 50_000 and h > 300 and w > 400, stats[big]
    box = img[y0:y0 + h, x0:x0 + w]
    for side in ("l", "r"):
        c = PLAYER_COLOURS[side]
        rgb = np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)])
        hits = (np.abs(box - rgb) <= 30).all(-1).sum()
        assert hits > 40, f"the player drew no {side} skeleton edges ({hits} pixels)"


needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")


# --------------------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------------------

def test_report_of_a_2d_bundle(bundle2d, tmp_path, capsys):
    assert main(["report", str(bundle2d)]) == 0
    html = bundle2d / "report.html"
    assert f"report: {html}" in capsys.readouterr().out
    page = html.read_text(encoding="utf-8")
    _no_network(page)
    video = (bundle2d / "overlay.mp4").read_bytes()
    assert 'src="data:video/mp4;base64,' + base64.b64encode(video).decode()[:2000] in page
    assert _check_rom(page, bundle2d / "angles.parquet") >= 40        # 2 people x 25
    # symmetry index of the knees, from the table's own ranges
    rom = _rom_in_page(page)
    L, R = rom[0, "left_knee"]["range"], rom[0, "right_knee"]["range"]
    m = re.search(r'data-person="0" data-quantity="knee">.*?data-stat="si">([^<]+)<', page,
                  re.S)
    assert float(m.group(1)) == pytest.approx(100 * abs(L - R) / ((L + R) / 2), abs=0.2)
    assert "100 · |L − R| / ((L + R) / 2)" in page                  # formula stated
    assert "Norkin" in page and "Knee flexion (2D) flexion 0–135°" in page
    assert page.count("<svg") >= 2                                   # a plot per person
    assert '"mode":"3d"' in page and "keypoints3d_body.parquet" in page
    assert "Missing from this bundle" not in page
    assert "blazepose" in page and "Run settings" in page           # manifest shown


@needs_chromium
def test_report_2d_renders_in_chromium(bundle2d, tmp_path):
    html = report(bundle2d, tmp_path / "r.html")
    png = screenshot(html.as_uri(), tmp_path / "report2d.png", height=1400, budget_ms=8000)
    _canvas_draws_skeleton(png)


def test_report_of_a_multiview_bundle(bundle_mv, tmp_path):
    out = tmp_path / "shared" / "mv.html"
    assert main(["report", str(bundle_mv), "-o", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    _no_network(page)
    cams = sorted(p.stem.removeprefix("overlay_") for p in bundle_mv.glob("overlay_*.mp4"))
    assert len(cams) == 4
    assert '<select id="camera-select">' in page
    for cam in cams:
        assert f'<option value="{cam}">' in page
    assert page.count('src="data:video/mp4;base64,') == 4
    assert _check_rom(page, bundle_mv / "angles.parquet") >= 20
    assert "3D joint angles (ISB conventions)" in page and '"mode":"3d"' in page
    assert "Hip flexion flexion 0–120°, extension 0–20°" in page
    assert "--ik" in page and "--opensim" in page                   # optional extras
    assert "reprojection_error_px" in page                          # accuracy shown
    if CHROMIUM is not None:
        png = screenshot(out.as_uri(), tmp_path / "reportmv.png", height=1400,
                         budget_ms=8000)
        _canvas_draws_skeleton(png)


def test_report_says_what_is_missing(bundle2d, tmp_path):
    b = tmp_path / "demo"
    shutil.copytree(bundle2d, b)
    # a run without --lift says nothing of lifted 3D
    assert "keypoints3d_lifted" not in json.loads((b / "manifest.json").read_text())[
        "conventions"]
    for name in ("angles.parquet", "keypoints3d_body.parquet", "overlay.mp4", "report.html"):
        (b / name).unlink(missing_ok=True)
    html = report(b)
    page = html.read_text(encoding="utf-8")
    _no_network(page)
    assert "Missing from this bundle" in page
    assert "No overlay video" in page and "No joint angles" in page
    assert "No 3D keypoints" in page and "--estimator blazepose" in page
    assert "No 3D in this bundle" in page and '"mode":"2d"' in page   # 2D in the player
    assert "posestack run" in page and "--force" in page
    # the commands keep the run's own options, so following them loses nothing
    assert f"-o {tmp_path} --max-people 2 --end 2" in page, page
    assert "data:video/mp4" not in page
    manifest = json.loads((b / "manifest.json").read_text())
    manifest["parameters"]["video"] = False        # as after --no-video
    (b / "manifest.json").write_text(json.dumps(manifest))
    page = report(b).read_text(encoding="utf-8")
    again = page.split("the run had --no-video; run it again without it: <code>")[1]
    again = again.split("</code>")[0]
    assert "--end 2" in again and "--no-video" not in again, again
    if CHROMIUM is not None:
        png = screenshot(html.as_uri(), tmp_path / "missing.png", height=1400,
                         budget_ms=8000)
        _canvas_draws_skeleton(png)


def test_large_video_is_linked_not_embedded(bundle2d, tmp_path, monkeypatch):
    monkeypatch.setattr(report_mod, "EMBED_LIMIT", 1000)
    out = tmp_path / "elsewhere" / "r.html"
    page = report(bundle2d, out).read_text(encoding="utf-8")
    assert "data:video/mp4" not in page and "too large to embed" in page
    m = re.search(r'<video controls preload="metadata" src="([^"]+)"', page)
    assert m and not m.group(1).startswith(("http", "/"))
    assert (out.parent / m.group(1)).resolve() == (bundle2d / "overlay.mp4").resolve()


def test_bad_input_and_atomic_rewrite(bundle2d, tmp_path, capsys):
    with pytest.raises(InputError, match=r"not a posestack bundle.*manifest\.json"):
        report(tmp_path)
    assert not list(tmp_path.iterdir())                              # nothing written
    with pytest.raises(InputError, match="does not exist"):
        report(tmp_path / "nope")
    assert main(["report", str(tmp_path)]) != 0
    assert str(tmp_path) in capsys.readouterr().err
    # a trial folder: the error names the bundles inside
    (tmp_path / "multiview").mkdir()
    (tmp_path / "multiview" / "manifest.json").write_text("{}")
    with pytest.raises(InputError, match="multiview"):
        report(tmp_path)
    # a failed rerun keeps the previous report and leaves no temporary file
    b = tmp_path / "demo"
    shutil.copytree(bundle2d, b)
    first = report(b).read_bytes()
    (b / "angles.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(InputError, match=r"angles\.parquet"):
        report(b)
    assert (b / "report.html").read_bytes() == first
    assert not [p for p in b.iterdir() if p.name.startswith(".report")]


def test_names_ranges_and_symmetry():
    assert split_side("left_knee_flexion") == ("left", "knee_flexion")
    assert split_side("hip_flexion_r") == ("right", "hip_flexion")
    assert split_side("pelvis_tilt") == (None, "pelvis_tilt")
    assert normal_range("right_knee", "planar").high == 135
    assert normal_range("left_ankle_dorsiflexion", "joint3d").low == -50
    assert normal_range("left_thigh", "planar") is None            # a segment angle
    assert normal_range("hip_flexion_r", "opensim") is None        # model-dependent zero
    assert symmetry_index(40, 60) == pytest.approx(40.0)
    assert np.isnan(symmetry_index(0, 0)) and np.isnan(symmetry_index(np.nan, 3))
    v, moved = continuous_branch(np.array([170.0, 179, -179, -170, np.nan]))
    assert moved and np.ptp(v[:4]) == pytest.approx(20) and np.isnan(v[4])
    v, moved = continuous_branch(np.array([-30.0, 40]))
    assert not moved and list(v) == [-30, 40]


def test_a_person_seen_in_a_few_frames_is_flagged():
    from types import SimpleNamespace

    from posestack.view.report import FEW_FRAMES, _few_frames_note

    rows = [SimpleNamespace(person=0, frames=120), SimpleNamespace(person=1, frames=3),
            SimpleNamespace(person=1, frames=2)]
    assert _few_frames_note(rows, 0) == ""
    assert "Seen in only 3 frames" in _few_frames_note(rows, 1)
    assert FEW_FRAMES > 3
