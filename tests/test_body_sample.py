"""The body fit and the animation renders end to end on the Pose2Sim sample (CLI and API)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

pytest.importorskip("anny")
torch = pytest.importorskip("torch")

import posestack  # noqa: E402
from posestack.body import AnnyBody, fit_body  # noqa: E402
from posestack.body.fit import read_body_npz  # noqa: E402
from posestack.body.gltf import read_glb  # noqa: E402
from posestack.body.parts import PART_COLOURS, PART_NAMES  # noqa: E402
from posestack.body.transfer import transfer_motion  # noqa: E402
from posestack.cli import main  # noqa: E402
from posestack.errors import InputError  # noqa: E402
from posestack.poses import Poses  # noqa: E402

pytestmark = pytest.mark.assets


@pytest.fixture(scope="module")
def body():
    torch.set_num_threads(2)
    return AnnyBody()


@pytest.fixture(scope="module")
def mv_bundle(tmp_path_factory, p2s_videos):
    """Multi-view bundle (4 cameras, 0.4 s = 24 frames at 60 fps, Halpe-26) with a body fit."""
    out = tmp_path_factory.mktemp("body")
    assert main(["run", str(p2s_videos), "-o", str(out), "--layout", "halpe26", "--end", "0.4",
                 "--filter", "butterworth", "-q"]) == 0
    bundle = out / "multiview"
    assert main(["body", str(bundle), "--glb", "--iterations", "200", "-q"]) == 0
    return bundle


def test_body_cli_on_the_multiview_sample(mv_bundle, capsys):
    fit = read_body_npz(mv_bundle / "body" / "body_p0.npz")
    T = len(fit.frames)
    assert T >= 20 and fit.vertices.shape == (T, 13718, 3) and fit.layout == "halpe26"
    rms = np.sqrt(np.nanmean(fit.residuals**2))
    assert rms < 0.035, rms                      # model keypoints vs triangulated, metres
    assert np.isfinite(fit.uncertainty[:, :17]).all()
    assert (fit.source_frames == np.arange(T)).all()
    # standing on the floor (Z up): lowest vertex near z = 0, head 1.5-2 m above it
    z = fit.vertices[..., 2]
    assert -0.15 < np.median(z.min(1)) < 0.2 and 1.4 < np.median(np.ptp(z, 1)) < 2.1
    glb = read_glb(mv_bundle / "body" / "body_p0.glb")
    assert len(glb["json"]["animations"]) == 1
    assert main(["body", str(mv_bundle / "body")]) != 0
    assert "neither keypoints3d.parquet nor keypoints2d.parquet" in capsys.readouterr().err


def test_render_cli_writes_every_map(mv_bundle, capsys):
    assert main(["render", str(mv_bundle), "--maps", "depth,normal,semantic,skeleton,overlay",
                 "--camera", "cam02", "--size", "480", "-q"]) == 0
    fit = read_body_npz(mv_bundle / "body" / "body_p0.npz")
    folder = mv_bundle / "render" / "cam02"
    for m in ("depth", "normal", "semantic", "skeleton", "overlay"):
        pngs = sorted((folder / m).glob("*.png"))
        assert len(pngs) == len(fit.frames), m
        assert (folder / f"{m}.mp4").stat().st_size > 1000
        assert not (folder / f"{m}.part").exists()
    sem = cv2.cvtColor(cv2.imread(str(folder / "semantic" / "000010.png")), cv2.COLOR_BGR2RGB)
    assert max(sem.shape[:2]) == 480
    rows = {}
    for name in ("head", "left_foot", "right_foot", "torso"):
        hit = (sem == PART_COLOURS[PART_NAMES.index(name)]).all(-1)
        assert hit.sum() > 20, name
        rows[name] = np.nonzero(hit)[0].mean()
    assert rows["head"] < rows["torso"] < min(rows["left_foot"], rows["right_foot"])
    # the body's silhouette in the depth map covers the person's detected box
    depth = cv2.imread(str(folder / "depth" / "000010.png"))
    assert 0.01 < (depth.max(-1) > 0).mean() < 0.5
    skel = cv2.imread(str(folder / "skeleton" / "000010.png"))
    assert (skel.max(-1) > 0).sum() > 500
    ov = cv2.imread(str(folder / "overlay" / "000010.png"))
    assert ov.mean() > 20                         # the video shows through
    # a fixed square crop around the person (animation datasets' framing), in a folder of
    # its own: the whole-frame render of the same camera stays
    assert main(["render", str(mv_bundle), "--maps", "semantic,overlay", "--camera", "cam02",
                 "--size", "256", "--crop", "-q"]) == 0
    crop = cv2.imread(str(mv_bundle / "render" / "cam02_crop" / "semantic" / "000010.png"))
    assert crop.shape == (256, 256, 3)
    assert (crop.max(-1) > 0).mean() > 0.08          # the person fills the crop
    whole = cv2.imread(str(folder / "semantic" / "000010.png"))
    assert max(whole.shape[:2]) == 480 and whole.shape[0] != whole.shape[1]
    assert main(["render", str(mv_bundle), "--maps", "depth,colour"]) != 0
    assert "unknown ['colour']" in capsys.readouterr().err
    assert main(["render", str(mv_bundle), "--camera", "cam09", "--maps", "depth"]) != 0
    assert "camera 'cam09'" in capsys.readouterr().err


def test_motion_transfer_on_the_sample(mv_bundle, body, capsys):
    """Another person's shape (a tall, heavy adult) with the same motion: the soles stay
    on the floor, the silhouette changes, the pose does not."""
    fit = read_body_npz(mv_bundle / "body" / "body_p0.npz")
    shape = np.array([1.0, 0.6, 0.5, 0.9, 0.95, 0.5])
    moved = transfer_motion(body, fit.params, shape)
    new = body(moved)["vertices"] @ fit.world_from_model.T
    assert np.abs(np.median(new[..., 2].min(1)) - np.median(fit.vertices[..., 2].min(1))) < 0.02
    assert np.median(np.ptp(new[..., 2], 1)) > np.median(np.ptp(fit.vertices[..., 2], 1)) + 0.05
    assert np.array_equal(moved.pose, fit.params.pose)
    assert main(["render", str(mv_bundle), "--maps", "semantic", "--size", "320",
                 "--phenotype", ",".join(map(str, shape)), "-q"]) == 0
    out = mv_bundle / "render" / "cam01_transfer" / "semantic"
    assert len(list(out.glob("*.png"))) == len(fit.frames)
    assert main(["render", str(mv_bundle), "--maps", "semantic", "--phenotype",
                 "2,0,0,0,0,0"]) != 0
    assert "phenotype must lie in [0.0, 1.0]" in capsys.readouterr().err
    with pytest.raises(InputError, match="phenotype"):
        transfer_motion(body, fit.params, np.zeros(5))


def test_uncertainty_rises_where_the_sample_loses_keypoints(mv_bundle, body):
    """POCO-style confidence on real data: hide the right arm for 8 frames; its wrist's
    uncertainty rises there, the left wrist's does not."""
    poses, _ = posestack.read_keypoints(mv_bundle / "keypoints3d.parquet")
    sk = poses.skeleton
    xyz, sc = poses.coords.copy(), poses.scores.copy()
    arm = [sk.index(n) for n in ("right_elbow", "right_wrist")]
    xyz[8:16, 0, arm], sc[8:16, 0, arm] = np.nan, 0
    fit = fit_body(Poses(sk, xyz, sc, poses.times, "world"), body=body, iterations=200)
    u = fit.uncertainty
    rw, lw = sk.index("right_wrist"), sk.index("left_wrist")
    gap, rest = np.arange(8, 16), np.r_[0:6, 18:len(u)]
    assert u[gap, rw].mean() > 2 * u[rest, rw].mean(), u[:, rw]
    assert u[gap, lw].mean() < 1.3 * u[rest, lw].mean()


def test_body_cli_monocular(tmp_path, p2s_videos):
    """One video: 2D keypoints fitted with a camera estimated from the image size; the
    model's keypoints reproject onto the detections."""
    assert main(["run", str(p2s_videos / "cam01.mp4"), "-o", str(tmp_path), "--end", "0.3",
                 "-q"]) == 0
    bundle = tmp_path / "cam01"
    assert main(["body", str(bundle), "--iterations", "150", "-q"]) == 0
    fit = read_body_npz(bundle / "body" / "body_p0.npz")
    info = json.loads((bundle / "manifest.json").read_text())["input"]
    assert fit.residual_unit == "px" and fit.camera.size == (info["width"], info["height"])
    med = np.nanmedian(fit.residuals)
    assert med < 0.02 * max(fit.camera.size), med
    assert main(["render", str(bundle), "--maps", "normal,overlay", "--size", "320",
                 "-q"]) == 0
    assert (bundle / "render" / "estimated" / "overlay.mp4").is_file()


def test_cli_fills_frame_gaps_and_checks_inputs(tmp_path, capsys):
    """A bundle whose table skips frames (nobody found) is fitted on every frame, so the
    smoothness and the renders keep the video's timing; short gaps are drawn, long ones
    left empty. Bad options get one clear error."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from posestack.cli import _shown

    assert _shown(np.array([1, 0, 0, 1, 0, 0, 0, 0, 1], bool), 2).tolist() == [
        True, True, True, True, False, False, False, False, True]
    src = posestack.assets.path("pose2sim_demo_singleperson") / "videos" / "cam02.mp4"
    assert main(["run", str(src), "-o", str(tmp_path), "--end", "0.25", "-q"]) == 0
    bundle = tmp_path / "cam02"
    table = pq.read_table(bundle / "keypoints2d.parquet")
    frame = table.column("frame")
    keep = pc.invert(pc.and_(pc.greater_equal(frame, 4), pc.less_equal(frame, 6)))
    pq.write_table(table.filter(keep), bundle / "keypoints2d.parquet")
    assert main(["body", str(bundle), "--iterations", "60", "-q"]) == 0
    fit = read_body_npz(bundle / "body" / "body_p0.npz")
    n = int(frame.to_numpy().max()) + 1
    assert fit.source_frames.tolist() == list(range(n))
    assert np.isnan(fit.residuals[4:7]).all() and np.isfinite(fit.vertices[4:7]).all()
    assert main(["render", str(bundle), "--maps", "depth", "--size", "64", "--max-gap", "2",
                 "-q"]) == 0
    pngs = sorted((bundle / "render" / "estimated" / "depth").glob("*.png"))
    assert len(pngs) == n
    gap = cv2.imread(str(pngs[5]))
    assert gap.max() == 0                       # 3 unseen frames > --max-gap 2: empty
    assert main(["render", str(bundle), "--maps", "depth", "--size", "8"]) != 0
    assert "--size must be at least 16" in capsys.readouterr().err
    assert main(["body", str(bundle), "--calibration", str(
        posestack.assets.path("pose2sim_demo_singleperson") / "calibration" / "Calib.qca.txt"),
        "--camera", "cam02", "--iterations", "5", "-q"]) == 0   # 1080x1920 vs 1088: padding
    np.save(tmp_path / "x.npy", np.zeros(3))
    assert main(["render", str(bundle), "--maps", "depth", "--shape-from",
                 str(tmp_path / "x.npy")]) != 0
    assert "not a posestack body file" in capsys.readouterr().err
