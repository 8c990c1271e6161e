"""posestack examine: a failure planted at a known blur is found there; the perturbations
do what they say; the CLI writes its tables and plot."""

from __future__ import annotations

import cv2
import numpy as np
import pyarrow.parquet as pq
import pytest

from posestack import assets
from posestack.cli import main
from posestack.errors import InputError
from posestack.examine import examine
from posestack.examine import perturb as pt

from .conftest import decode

pytestmark = pytest.mark.assets


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    """Six frames of the Pose2Sim sample (one person, cam01), as an image folder."""
    folder = tmp_path_factory.mktemp("shots")
    video = assets.path("pose2sim_demo_singleperson") / "videos" / "cam01.mp4"
    for i, rgb in decode(video, {0, 20, 40, 60, 80, 99}).items():
        cv2.imwrite(str(folder / f"f{i:03d}.png"), rgb[..., ::-1])
    return folder


def _sharpness(rgb: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var())


def test_a_failure_planted_at_a_known_blur_is_found_there(shots):
    """A wrapper around BlazePose that returns garbage once the image is blurrier than a
    Gaussian of sigma 4 px (told by the image's sharpness): examine must put the failure
    between sigma 3 and 5."""
    from posestack.estimate import make_estimator
    from posestack.skeletons import get_skeleton

    est = make_estimator("blazepose", static=True, person_detector="blazepose")
    frames = [cv2.imread(str(p))[..., ::-1].copy() for p in sorted(shots.glob("*.png"))]
    at3 = min(_sharpness(cv2.GaussianBlur(f, (0, 0), 3.5)) for f in frames)
    at5 = max(_sharpness(cv2.GaussianBlur(f, (0, 0), 4.5)) for f in frames)
    assert at3 > at5  # the sharpness tells the two blurs apart on every frame
    threshold = (at3 * at5) ** 0.5

    class Breaks:
        def __call__(self, rgb, t):
            people = est(rgb, t)
            if _sharpness(rgb) < threshold:
                for p in people:
                    p.xy[:] += 500.0  # far off: every keypoint wrong
            return people

    ex = examine(shots, Breaks(), names=get_skeleton("blazepose33").keypoints,
                 perturbations=["blur"], refine=4, progress=False)
    (fail,) = ex.failures
    assert 3.5 <= fail["parameter"] <= 4.5, ex.rows
    below = [r for r in ex.rows if r["parameter"] < 3.5]
    assert below and all(r["pck"] > 0.8 for r in below)


def test_perturbations_do_what_they_say():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (120, 80, 3), dtype=np.uint8)
    ref = np.array([[40.0, 20], [40, 100], [10, 50], [70, 50]])
    names = ("nose", "left_ankle", "left_wrist", "right_wrist")
    assert pt.get("blur").parameter(3) == 4.0 and pt.get("blur").parameter(3.5) == \
        pytest.approx(4 * 2 ** 0.5)
    img, back, vis = pt.apply(pt.get("rotate"), rgb, 4, ref)  # 90 degrees
    assert img.shape == rgb.shape
    m = cv2.getRotationMatrix2D((40, 60), 90, 1.0)
    np.testing.assert_allclose(back(ref @ m[:, :2].T + m[:, 2]), ref, atol=1e-9)
    img, back, vis = pt.apply(pt.get("resolution"), rgb, 1, ref)
    assert img.shape[:2] == (60, 40)
    np.testing.assert_allclose(back(np.array([[20.0, 30]])), [[40, 60]])
    img, _, vis = pt.apply(pt.get("crop"), rgb, 5, ref)  # half the height kept
    assert img.shape[0] == 60 and vis.tolist() == [True, False, True, True]
    img, _, _ = pt.apply(pt.get("occlude:left_arm"), rgb, 1, ref, names)
    assert (img[50, 10] == 128).all() and (img[20, 40] == rgb[20, 40]).all()
    with pytest.raises(InputError, match="unknown perturbation"):
        pt.get("fog")
    with pytest.raises(InputError, match="unknown body part"):
        pt.get("occlude:tail")


def test_the_command_line_writes_tables_and_a_plot(shots, tmp_path, capsys):
    out = tmp_path / "ex"
    assert main(["examine", str(shots), "--perturbations", "dark,occlude:head", "-o",
                 str(out), "-q"]) == 0
    printed = capsys.readouterr().out
    assert "dark" in printed and "occlude:head" in printed
    rows = pq.read_table(out / "robustness.parquet").to_pylist()
    assert {r["perturbation"] for r in rows} == {"dark", "occlude:head"}
    dark = sorted((r["severity"], r["pck"]) for r in rows if r["perturbation"] == "dark")
    assert dark[0][1] > 0.8 and dark[-1][1] < dark[0][1]  # darker is worse
    assert (out / "robustness.png").stat().st_size > 5000
    assert len(pq.read_table(out / "failures.parquet")) == 2
    assert main(["examine", str(shots), "--perturbations", "fog"]) == 2
    assert main(["examine", str(shots), "--perturbations", ""]) == 2
    assert main(["examine", str(shots), "--frames", "0"]) == 2
    assert "--frames must be at least 1" in capsys.readouterr().err


def test_a_multiview_reference_replaces_the_clean_run(tmp_path, capsys):
    """The sample's triangulation (four cameras, Qualisys calibration) reprojected into
    cam01 is the reference: the clean frames score below 1 against it (the estimator is
    not the truth), blur lowers it further, and another camera's reprojection is refused
    as not of this video."""
    d = assets.path("pose2sim_demo_singleperson")
    calib = d / "calibration" / "Calib.qca.txt"
    out = tmp_path / "out"
    assert main(["run", str(d / "videos"), "--calibration", str(calib), "-o", str(out),
                 "--no-video", "-q"]) == 0
    video = d / "videos" / "cam01.mp4"
    ex = tmp_path / "ex"
    assert main(["examine", str(video), "--reference", str(out / "multiview"),
                 "--calibration", str(calib), "--frames", "6", "--perturbations", "blur",
                 "-o", str(ex), "-q"]) == 0
    printed = capsys.readouterr().out
    assert "keypoints3d.parquet through cam01" in printed and "clean" in printed
    rows = pq.read_table(ex / "robustness.parquet").to_pylist()
    clean = [r for r in rows if r["perturbation"] == "clean"]
    assert len(clean) == 1 and clean[0]["frames"] == 6
    assert 0.7 < clean[0]["pck"] < 1.0, clean
    blur = sorted((r["severity"], r["pck"]) for r in rows if r["perturbation"] == "blur")
    assert blur[-1][1] < clean[0]["pck"]
    # cam03's view of the same 3D is not what cam01 filmed
    assert main(["examine", str(video), "--reference", str(out / "multiview"),
                 "--calibration", str(calib), "--camera", "cam03", "--frames", "4",
                 "--perturbations", "blur", "-q"]) == 2
    assert "not of this video" in capsys.readouterr().err
    assert main(["examine", str(video), "--reference", str(out / "multiview")]) == 2
    assert "go together" in capsys.readouterr().err
    assert main(["examine", str(video), "--reference", str(out / "cam01"), "--calibration",
                 str(calib), "-q"]) == 2
    assert "not 3D in the world's axes" in capsys.readouterr().err


@pytest.fixture(scope="module")
def anny_body():
    pytest.importorskip("anny")
    from posestack.body.anny_body import AnnyBody

    return AnnyBody()


def test_a_sweep_over_rendered_bodies_finds_a_planted_failure(anny_body):
    """BlazePose wrapped to see nobody smaller than 45 % of the image height: the
    distance sweep (the body's largest side at 0.6, 0.3, 0.15, 0.09, 0.06 of the image,
    geometric in between) must fail between severities 1.375 (46 %) and 1.5 (42 %); the
    view sweep, which keeps the body large, must not fail. (BlazePose itself, with
    MediaPipe's detector, loses the body below about a quarter of the image.)"""
    from posestack.estimate import make_estimator
    from posestack.examine.anny import SIZE, sweep
    from posestack.skeletons import get_skeleton

    real = make_estimator("blazepose", static=True, max_people=1,
                          person_detector="blazepose")

    def planted(rgb, t):
        body_rows = np.flatnonzero((np.abs(rgb.astype(int) - 118).sum(-1) > 0).any(1))
        tall = np.ptp(body_rows) if len(body_rows) else 0
        return real(rgb, t) if tall >= 0.45 * SIZE[1] else []

    ex = sweep(planted, sweeps=("distance", "view"), renders=3, refine=3, progress=False,
               names=get_skeleton("blazepose33").keypoints, body=anny_body)
    fails = {f["perturbation"]: f for f in ex.failures}
    assert 1.375 < fails["distance"]["fails_at"] <= 1.5, fails
    assert fails["view"]["fails_at"] is None
    near = [r for r in ex.rows if r["perturbation"] == "distance" and r["severity"] <= 1.375]
    assert all(r["pck"] > 0.8 and r["median_px"] < 20 for r in near), near
    assert all(r["lost"] == 1.0 for r in ex.rows
               if r["perturbation"] == "distance" and r["severity"] >= 1.5)


def test_the_command_line_sweeps_rendered_bodies(anny_body, tmp_path, capsys):
    out = tmp_path / "sw"
    assert main(["examine", "--anny", "--sweeps", "view,pose", "--renders", "2", "-o",
                 str(out), "-q"]) == 0
    printed = capsys.readouterr().out
    assert "rendered bodies" in printed and "view" in printed and "pose" in printed
    rows = pq.read_table(out / "robustness.parquet").to_pylist()
    assert {r["perturbation"] for r in rows} == {"view", "pose"}
    assert (out / "robustness.png").stat().st_size > 5000
    assert main(["examine", "--anny", "--sweeps", "gravity"]) == 2
    assert "unknown sweep" in capsys.readouterr().err
    assert main(["examine", "--anny", "clip.mp4"]) == 2
    assert main(["examine", "--anny", "--sweeps", "view,view"]) == 2
    assert "named twice" in capsys.readouterr().err
    assert main(["examine", "clip.mp4", "--renders", "3"]) == 2
    assert "add --anny" in capsys.readouterr().err
    assert main(["examine"]) == 2
    assert "--anny" in capsys.readouterr().err
