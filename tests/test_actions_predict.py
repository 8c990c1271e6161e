"""Recognition over long videos (issue 15, items 3, 4 and 6): a model trained here on the
synthetic classes, exported to ONNX, labels a synthetic two-person sequence that chains
three actions each (truth known), through the CLI, with ONNX Runtime."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from posestack.actions.data import ActionData, write_pyskl  # noqa: E402
from posestack.actions.model import load_model  # noqa: E402
from posestack.actions.predict import evaluate_models, recognise, segment_iou  # noqa: E402
from posestack.actions.synthetic import make_sequence, synthetic_dataset  # noqa: E402
from posestack.errors import InputError  # noqa: E402

PLAN = [[("walk_in_place", 4.0), ("squat", 4.0), ("wave_right_hand", 4.0)],
        [("jumping_jack", 4.0), ("bow", 4.0), ("arm_circles", 4.0)]]


def _cli(*args, check=True):
    r = subprocess.run([sys.executable, "-m", "posestack", *map(str, args)],
                       capture_output=True, text=True, env=dict(os.environ), timeout=1200)
    if check:
        assert r.returncode == 0, r.stderr
    return r


@pytest.fixture(scope="module")
def model2d(tmp_path_factory):
    """ST-GCN++ (half width) trained from the CLI on noisy 2D synthetic clips, exported."""
    d = tmp_path_factory.mktemp("m2d")
    a = synthetic_dataset(16, dim=2, seed=1, split="train")
    b = synthetic_dataset(4, dim=2, seed=2, split="val")
    write_pyskl(d / "data.pkl", ActionData({**a.split, **b.split},
                                           a.annotations + b.annotations, a.label_names))
    _cli("actions", "train", d / "data.pkl", "-o", d / "model", "--epochs", "20",
         "--base-channels", "32", "--lr", "0.05", "--onnx", "-q")
    return d


def _bundle(path, poses):
    """A bundle as 'posestack run' leaves one: keypoints2d.parquet and a manifest."""
    from posestack.io.tables import poses_to_table, write_parquet

    path.mkdir(parents=True)
    frames = np.arange(poses.n_frames)
    write_parquet(path / "keypoints2d.parquet", poses_to_table(poses, frames, "cam"))
    (path / "manifest.json").write_text(json.dumps({
        "input": {"kind": "video", "path": None, "width": 1280, "height": 720, "fps": 30.0},
        "people": poses.n_people}))
    return path


def test_training_writes_the_confusion_matrix_and_onnx(model2d):
    m = model2d / "model"
    for f in ("best.pt", "last.pt", "history.json", "confusion.csv", "confusion.png",
              "model.onnx"):
        assert (m / f).is_file(), f
    rows = (m / "confusion.csv").read_text().splitlines()
    assert rows[0].split(",")[1:] == json.loads((m / "history.json").read_text())[
        "label_names"]
    counts = np.array([[int(v) for v in r.split(",")[1:]] for r in rows[1:]])
    # 8 classes (chance 1/8). 20 epochs: after 12 the accuracy depended on the machine's
    # floating-point paths (0.81 on one 2-core machine, 0.85 or more on others)
    assert counts.sum() == 32 and np.trace(counts) / 32 >= 0.85


def test_onnx_runtime_gives_torch_s_probabilities(model2d):
    onnx_m = load_model(model2d / "model", backend="onnx")
    torch_m = load_model(model2d / "model", backend="torch")
    assert onnx_m.backend == "onnxruntime" and torch_m.backend == "torch"
    assert onnx_m.label_names == torch_m.label_names and onnx_m.dim == 2
    X = np.random.default_rng(0).normal(size=(5, 1, 48, 17, 3)).astype(np.float32)
    assert np.abs(onnx_m.probabilities(X) - torch_m.probabilities(X)).max() < 1e-4


def test_two_people_chaining_actions_are_found(model2d, tmp_path):
    """Two people side by side, three 4-s actions each (blended over 0.4 s), a camera
    6-8 m away, 2-px noise and 5% missing points: every segment is found with the right
    label: mean temporal IoU >= 0.7 (the issue's goal; 0.87 here) and each true segment
    overlapped by a prediction of its label (IoU > 0.3; the weakest, a squat, 0.61)."""
    seq = make_sequence(PLAN, np.random.default_rng(7))
    b = _bundle(tmp_path / "seq", seq.poses2d)
    r = _cli("actions", "predict", b, "--model", model2d / "model")
    import pyarrow.parquet as pq

    t = pq.read_table(b / "actions.parquet")
    assert t.column_names == ["person", "start", "end", "label", "score", "frame_start",
                              "frame_end"]
    assert t.schema.metadata[b"posestack.backend"] == b"onnxruntime"
    from posestack.actions.predict import Segment

    segs = [Segment(**row) for row in t.to_pylist()]
    ious = segment_iou(segs, seq.truth)
    assert np.mean(ious) >= 0.7 and min(ious) > 0.3, (ious, r.stdout)
    assert (b / "actions.mp4").is_file()
    import av

    with av.open(str(b / "actions.mp4")) as c:
        assert c.streams.video[0].frames == seq.poses2d.n_frames


def test_ensemble_of_modalities_and_bad_ensembles(model2d, tmp_path):
    """A bone-modality model joins the joint model; evaluate reports both and the
    ensemble. Models with other classes or dimensions are refused."""
    d = model2d
    _cli("actions", "train", d / "data.pkl", "-o", tmp_path / "bone", "--epochs", "6",
         "--base-channels", "16", "--modality", "b", "-q")
    r = _cli("actions", "evaluate", d / "data.pkl", "--model", d / "model", "--model",
             tmp_path / "bone", "-o", tmp_path / "ens")
    lines = r.stdout.splitlines()
    assert lines[2].startswith("ensemble: ") and (tmp_path / "ens" / "confusion.csv").is_file()
    ens = float(lines[2].split()[-1].rstrip("%"))
    best = max(float(line.split()[-1].rstrip("%")) for line in lines[:2])
    assert ens >= best - 10.0
    r = _cli("actions", "evaluate", d / "data.pkl", "--model", d / "model", "--weights",
             "1", "2", check=False)
    assert r.returncode == 2 and "one weight per model" in r.stderr
    m = load_model(d / "model")
    seq = make_sequence([[("squat", 2.0)]], np.random.default_rng(1))
    with pytest.raises(InputError, match="takes 2D keypoints; these are 3D"):
        recognise(seq.poses3d, [m])


def test_a_video_shorter_than_the_smoothing(model2d):
    """A 0.3-s clip (18 frames at 60 fps, like the Pose2Sim camera that crashed it) with
    1-s smoothing, 2-s windows and 0.5-s shortest segments: no error, and its one segment
    is kept (it is all there is of the person)."""
    seq = make_sequence([[("squat", 0.3)]], np.random.default_rng(3), fps=60.0)
    rec = recognise(seq.poses2d, [load_model(model2d / "model")], smooth=1.0)
    assert rec.probs.shape == (18, 1, 8)
    assert len(rec.segments) == 1 and rec.segments[0].end == pytest.approx(0.3)


def test_clear_errors_for_wrong_inputs(model2d, tmp_path):
    (tmp_path / "notamodel").mkdir()
    with pytest.raises(InputError, match=r"no best\.pt or model\.onnx"):
        load_model(tmp_path / "notamodel")
    (tmp_path / "x.onnx").write_bytes(b"garbage")
    with pytest.raises(InputError, match="not a readable ONNX model"):
        load_model(tmp_path / "x.onnx")
    (tmp_path / "x.pt").write_bytes(b"garbage")
    with pytest.raises(InputError, match="not a readable PyTorch checkpoint"):
        load_model(tmp_path / "x.pt")
    r = _cli("actions", "predict", tmp_path, "--model", model2d / "model", check=False)
    assert r.returncode == 2 and "not a finished posestack bundle" in r.stderr
    r = _cli("actions", "predict", tmp_path, "--model", model2d / "model", "--window", "0",
             check=False)
    assert r.returncode == 2


def test_3d_bundles_get_an_overlay(tmp_path):
    """A 3D model on a multi-camera bundle (3D only, no video of its own) crashed drawing
    3D points as pixels (found on the Pose2Sim sample); it now draws a front view. On a
    single video's bundle, the people's 2D keypoints are drawn over the video's frame size."""
    from posestack.io.tables import poses_to_table, write_parquet

    a = synthetic_dataset(2, dim=3, seed=1, split="train")
    b = synthetic_dataset(1, dim=3, seed=2, split="val")
    write_pyskl(tmp_path / "d.pkl", ActionData({**a.split, **b.split},
                                               a.annotations + b.annotations, a.label_names))
    _cli("actions", "train", tmp_path / "d.pkl", "-o", tmp_path / "m3", "--epochs", "1",
         "--base-channels", "8", "--clip-len", "16", "-q")
    seq = make_sequence([[("squat", 2.0)], [("bow", 2.0)]], np.random.default_rng(2))
    mv = tmp_path / "multiview"
    mv.mkdir()
    frames = np.arange(seq.poses3d.n_frames)
    write_parquet(mv / "keypoints3d.parquet", poses_to_table(seq.poses3d, frames, "world"))
    (mv / "manifest.json").write_text(json.dumps({"people": 2}))
    _cli("actions", "predict", mv, "--model", tmp_path / "m3")
    one = _bundle(tmp_path / "one", seq.poses2d)        # a single video's bundle: 2D and 3D
    write_parquet(one / "keypoints3d_body.parquet", poses_to_table(seq.poses3d, frames, "body"))
    _cli("actions", "predict", one, "--model", tmp_path / "m3")
    import av

    for bundle, size in ((mv, (1280, 720)), (one, (1280, 720))):
        with av.open(str(bundle / "actions.mp4")) as c:
            f = next(c.decode(video=0)).to_ndarray(format="rgb24")
            assert c.streams.video[0].frames == seq.poses3d.n_frames
        assert f.shape[1] == size[0] and f.shape[0] > size[1]   # the canvas and the timeline
        # both people's skeletons are drawn, in the canvas (not at metre-sized pixels)
        assert (np.abs(f[:size[1]].astype(int) - f[5, 5]).sum(-1) > 60).sum() > 500
    # a rerun without the video leaves no overlay of the previous predictions behind
    r = _cli("actions", "predict", mv, "--model", tmp_path / "m3", "--no-video")
    assert not (mv / "actions.mp4").exists() and "previous predictions" in r.stderr


def test_segments_stay_where_the_person_is_seen(model2d, tmp_path):
    """A person who comes into view at 3 s and leaves at 9 s (found on the Sports2D walker:
    labelled from 0.5 s though tracked from 1.5 s): no segment of theirs starts before or
    ends after; a 0.3-s gap inside the track does not split it. Refused: a stride longer
    than the window (frames never looked at), several bundles with a bad one (before any
    work), and a 2D model on a 3D dataset."""
    seq = make_sequence(PLAN, np.random.default_rng(7))
    p = seq.poses2d
    t = p.times
    gone = (t < 3.0) | (t >= 9.0) | ((t >= 6.0) & (t < 6.3))
    coords, scores = p.coords.copy(), p.scores.copy()
    coords[gone, 1], scores[gone, 1] = np.nan, 0.0
    poses = p._replace(coords=coords, scores=scores)
    m = load_model(model2d / "model")
    rec = recognise(poses, [m], window=4.0)
    mine = [g for g in rec.segments if g.person == 1]
    assert mine and min(g.start for g in mine) >= 3.0 - 1e-6
    assert max(g.end for g in mine) <= 9.0 + 1e-6
    assert not any(6.0 < g.start < 6.4 for g in mine)      # the short gap is bridged
    assert any(g.person == 0 and g.start < 0.1 for g in rec.segments)  # the other: whole
    with pytest.raises(InputError, match="must not exceed window"):
        recognise(poses, [m], window=1.0, stride=2.0)
    b = _bundle(tmp_path / "ok", poses)
    r = _cli("actions", "predict", b, tmp_path / "nope", "--model", model2d / "model",
             "--no-video", check=False)
    assert r.returncode == 2 and "nope is not a finished" in r.stderr
    assert not (b / "actions.parquet").exists()
    a = synthetic_dataset(1, dim=3, seed=1, split="val")
    with pytest.raises(InputError, match="takes 2D clips of 17 joints"):
        evaluate_models(a, [m])
