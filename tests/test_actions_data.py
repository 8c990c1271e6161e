"""posestack.actions data layer (issue 15, item 1): PYSKL pickles, NTU .skeleton files,
clips from bundles and datasets from a labels CSV."""

from __future__ import annotations

import pickle
import re

import numpy as np
import pytest

from posestack.actions.data import (
    ActionData,
    bundle_clip,
    dataset_from_labels,
    ntu_annotation,
    read_ntu_skeleton,
    read_pyskl,
    write_pyskl,
)
from posestack.actions.layouts import NTU25_FLIP, NTU25_PARENTS, bones, to_model_layout
from posestack.cli import main
from posestack.describe.synthetic import poses_from_angles
from posestack.errors import InputError


def _ntu_file(path, frames):
    """Write a .skeleton file as NTU does: frames = list of {body_id: (25, 12) array}."""
    lines = [str(len(frames))]
    for bodies in frames:
        lines.append(str(len(bodies)))
        for bid, j in bodies.items():
            lines.append(f"{bid} 0 1 2 1 2 0 0.1 -0.2 2")
            lines.append("25")
            for row in j:
                lines.append(" ".join(f"{v:.6g}" for v in row[:11]) + f" {int(row[11])}")
    path.write_text("\n".join(lines) + "\n")


def test_ntu_skeleton_reader(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 25, 12))
    a[..., 11] = 2
    b = rng.normal(size=(2, 25, 12))
    b[..., 11] = 1
    frames = [{720575940379: a[0]}, {720575940379: a[1], 72057594037: b[0]}, {},
              {720575940379: a[2], 72057594037: b[1]}]
    f = tmp_path / "S001C002P003R002A013.skeleton"
    _ntu_file(f, frames)
    sk = read_ntu_skeleton(f)
    assert sk.xyz.shape == (2, 4, 25, 3) and sk.body_ids == (720575940379, 72057594037)
    np.testing.assert_allclose(sk.xyz[0, 0], a[0, :, :3], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(sk.color[1, 3], b[1, :, 5:7], rtol=1e-5, atol=1e-5)
    assert np.isnan(sk.xyz[1, 0]).all() and np.isnan(sk.xyz[:, 2]).all()   # absent
    assert (sk.tracking[0, 0] == 2).all() and (sk.tracking[1, 1] == 1).all()
    ann = ntu_annotation(f)
    assert ann["label"] == 12 and ann["keypoint"].shape == (2, 4, 25, 3)
    assert ann["keypoint"].dtype == np.float16 and not np.isnan(ann["keypoint"]).any()
    # whitespace does not matter (the MATLAB reader's fscanf), a short file is refused
    g = tmp_path / "x.skeleton"
    g.write_text(f.read_text().replace("\n", "  \n "))
    assert np.allclose(read_ntu_skeleton(g).xyz, sk.xyz, equal_nan=True)
    g.write_text(" ".join(f.read_text().split()[:200]))
    with pytest.raises(InputError, match="ends early"):
        read_ntu_skeleton(g)
    g.write_text("hello world")
    with pytest.raises(InputError, match=r"not an NTU \.skeleton file"):
        read_ntu_skeleton(g)


def test_pyskl_round_trip_and_schema_errors(tmp_path):
    ann = {"frame_dir": "a", "total_frames": 5, "label": 1, "img_shape": (1080, 1920),
           "original_shape": (1080, 1920), "keypoint": np.zeros((2, 5, 17, 2), np.float32),
           "keypoint_score": np.ones((2, 5, 17), np.float32)}
    data = ActionData({"train": ["a"], "val": []}, [ann], ["x", "y"])
    write_pyskl(tmp_path / "d.pkl", data)
    back = read_pyskl(tmp_path / "d.pkl")
    assert back.split == data.split and back.label_names == ["x", "y"]
    np.testing.assert_array_equal(back.annotations[0]["keypoint"], ann["keypoint"])
    # a plain PYSKL file (no label_names) reads too, and a list of annotations alone
    with open(tmp_path / "p.pkl", "wb") as f:
        pickle.dump({"split": {"xsub_train": ["a"]}, "annotations": [ann]}, f)
    assert read_pyskl(tmp_path / "p.pkl").label_names == ["0", "1"]
    with open(tmp_path / "l.pkl", "wb") as f:
        pickle.dump([ann], f)
    assert len(read_pyskl(tmp_path / "l.pkl").annotations) == 1
    bad = dict(ann, total_frames=6)
    with open(tmp_path / "b.pkl", "wb") as f:
        pickle.dump({"split": {}, "annotations": [bad]}, f)
    with pytest.raises(InputError, match="total_frames is 6"):
        read_pyskl(tmp_path / "b.pkl")
    with open(tmp_path / "s.pkl", "wb") as f:
        pickle.dump({"split": {"train": ["zz"]}, "annotations": [ann]}, f)
    with pytest.raises(InputError, match="unknown frame_dir"):
        read_pyskl(tmp_path / "s.pkl")
    (tmp_path / "t.pkl").write_text("not a pickle")
    with pytest.raises(InputError, match="not a readable pickle"):
        read_pyskl(tmp_path / "t.pkl")


def test_layout_maps_and_bones():
    poses = poses_from_angles([{}, {"left_knee_flexion": 90.0}])
    kp, sc = to_model_layout(poses, "ntu25")
    assert kp.shape == (1, 2, 25, 3)
    k = poses.skeleton.index
    np.testing.assert_allclose(kp[0, :, 13], poses.coords[:, 0, k("left_knee")])
    np.testing.assert_allclose(kp[0, :, 0], poses.coords[:, 0, k("mid_hip")])
    assert np.isnan(kp[0, :, 21]).all() and (sc[0, :, 21] == 0).all()  # no hand tip: absent
    b = bones(np.nan_to_num(kp), "ntu25")
    assert np.allclose(b[..., 20, :], 0)   # the root's bone
    np.testing.assert_allclose(b[0, 1, 14], kp[0, 1, 14] - kp[0, 1, 13])   # shin
    assert sorted(NTU25_FLIP) == list(range(25)) and len(NTU25_PARENTS) == 25
    coco, _ = to_model_layout(poses, "coco")
    assert coco.shape == (1, 2, 17, 3)
    flat = poses_from_angles([{}])
    two_d = flat._replace(coords=flat.coords[..., :2], space="image:cam")
    with pytest.raises(InputError, match="ntu25 layout is 3D"):
        to_model_layout(two_d, "ntu25")


@pytest.mark.assets
def test_dataset_from_labelled_bundles(s2d_bundle, tmp_path, capsys):
    """The Sports2D sample labelled by hand (what is visibly done): person 0 does jumping
    jacks (0-2.2 s), person 1 walks (1.5-6.5 s)."""
    work = tmp_path / "w"
    work.mkdir()
    csv = work / "labels.csv"
    csv.write_text("bundle,person,start,end,label\n"
                   f"{s2d_bundle},0,0.0,1.0,jumping_jack\n"
                   f"{s2d_bundle},0,1.0,2.2,jumping_jack\n"
                   f"{s2d_bundle},1,1.5,4.0,walk\n"
                   f"{s2d_bundle},1,4.0,6.5,walk\n")
    assert main(["actions", "dataset", str(csv), "-o", str(work / "d.pkl")]) == 0
    assert "4 clips (jumping_jack: 2, walk: 2)" in capsys.readouterr().out
    d = read_pyskl(work / "d.pkl")
    assert d.label_names == ["jumping_jack", "walk"]
    assert sorted(len(v) for v in d.split.values()) == [2, 2]   # one val clip per class
    a = d.annotations[0]
    assert a["keypoint"].shape == (1, 30, 17, 2) and a["keypoint_score"].shape == (1, 30, 17)
    assert a["img_shape"] == (994, 1768) and a["label"] == 0
    assert a["source"]["person"] == 0 and a["source"]["frames"] == [0, 29]
    # 3D in the NTU layout, from BlazePose's world landmarks
    assert main(["actions", "dataset", str(csv), "-o", str(work / "d3.pkl"), "--layout",
                 "ntu25", "--dim", "3"]) == 0
    assert read_pyskl(work / "d3.pkl").annotations[2]["keypoint"].shape[2:] == (25, 3)
    # errors, each naming the line
    for text, msg in (
        (f"{s2d_bundle},5,0,1,x\n", "line 2: .*people 0..1; got person 5"),
        (f"{s2d_bundle},0,5,20,x\n", "line 2: .*outside the video"),
        (f"{work}/nope,0,0,1,x\n", "line 2: no such bundle"),
        (f"{s2d_bundle},0,0,1,x\n{s2d_bundle},0,0.5,2,y\n", "lines 2 and 3: .*overlap"),
        (f"{s2d_bundle},0,1,1,x\n", "need 0 <= start < end"),
        (f"{s2d_bundle},zero,0,1,x\n", "line 2: .*person is an integer"),
    ):
        csv.write_text("bundle,person,start,end,label\n" + text)
        assert main(["actions", "dataset", str(csv), "-o", str(work / "e.pkl")]) == 2, text
        err = capsys.readouterr().err
        assert err.count("error:") == 1
        assert re.search(msg, err), (msg, err)
    assert not (work / "e.pkl").exists()
    csv.write_text("bundle,who,start,end,label\n")
    assert main(["actions", "dataset", str(csv), "-o", str(work / "e.pkl")]) == 2
    assert "missing person" in capsys.readouterr().err


def test_dataset_split_column_and_relative_paths(s2d_bundle, tmp_path):
    import shutil

    shutil.copytree(s2d_bundle, tmp_path / "bundles" / "demo")
    csv = tmp_path / "labels.csv"
    csv.write_text("bundle,person,start,end,label,split\n"
                   "bundles/demo,0,0,1,jj,train\nbundles/demo,0,1,2,jj,test\n"
                   "bundles/demo,1,2,3,walk,\nbundles/demo,1,3,4,walk,\n")
    d = dataset_from_labels(csv, val_fraction=0.5, seed=1)
    assert d.split["train"][0].startswith("demo_p0_0.00") and len(d.split["test"]) == 1
    assert len(d.split["val"]) == 1 and len(d.split["train"]) == 2
    with pytest.raises(InputError, match="val_fraction"):
        dataset_from_labels(csv, val_fraction=1.0)
    with pytest.raises(InputError, match="unknown model layout"):
        bundle_clip(tmp_path / "bundles" / "demo", 0, 0, 1, layout="openpose18")


def test_a_video_given_as_the_bundle(tmp_path):
    from posestack.actions.data import bundle_clip

    video = tmp_path / "clip.mp4"
    video.write_bytes(b"")
    with pytest.raises(InputError, match="that is a file: give the folder"):
        bundle_clip(video, 0, 0.0, 1.0)
