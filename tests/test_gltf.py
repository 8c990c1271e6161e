"""posestack.body.gltf: an Anny sequence as one animated, skinned .glb."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

pytest.importorskip("anny")
torch = pytest.importorskip("torch")

from posestack.body import FIT_BONES, AnnyBody, BodyParams  # noqa: E402
from posestack.body.gltf import AXES, read_glb, skin_glb, write_glb  # noqa: E402
from posestack.errors import InputError  # noqa: E402

#: glTF skinning vs Anny: float32 storage (~1e-6 m) and, with the default 8 influences,
#: the dropped 9th weight of 2 vertices (<= 0.001; measured 0.2 mm at most).
TOL_M = 1e-3
#: With all 12 influence slots kept, float32 storage is the only error source.
TOL_EXACT_M = 2e-5
MOVED = ("spine03", "neck01", "head", "upperleg01.L", "lowerleg01.R", "upperarm01.L",
         "lowerarm01.R", "wrist.L", "finger2-1.R")


@pytest.fixture(scope="module")
def body():
    torch.set_num_threads(2)
    return AnnyBody()


def motion(frames: int = 5, seed: int = 0) -> tuple[BodyParams, np.ndarray]:
    """Random phenotype, smooth rotations of several bones, global turn and walk."""
    rng = np.random.default_rng(seed)
    t = 0.5 + np.arange(frames) / 25          # seconds, not starting at 0
    pose = np.zeros((frames, len(FIT_BONES), 3))
    for b in MOVED:
        j = FIT_BONES.index(b)
        for a in range(3):
            pose[:, j, a] = 0.5 * np.sin(2 * np.pi * rng.uniform(0.5, 2) * t
                                         + rng.uniform(0, 2 * np.pi))
    orient = np.stack([0.3 * np.sin(3 * t), 0.2 * np.cos(2 * t), 2.0 * t - 1], 1)
    transl = np.stack([0.8 * t, -0.3 * t, 0.95 + 0.05 * np.sin(5 * t)], 1)
    return BodyParams(rng.uniform(0.25, 0.75, 6), pose, orient, transl), t


@pytest.fixture(scope="module")
def written(body, tmp_path_factory):
    params, t = motion()
    path = write_glb(tmp_path_factory.mktemp("glb") / "motion.glb", body, params, times=t)
    return path, params, t, body(params)["vertices"]


def test_skinning_reproduces_anny(written):
    path, _, t, anny_vertices = written
    data = read_glb(path)
    ref = anny_vertices @ AXES["y_up"].T        # Anny's Z-up world -> glTF's Y-up
    err = max(np.linalg.norm(skin_glb(data, i) - ref[i], axis=1).max() for i in range(len(t)))
    assert err < TOL_M, f"max vertex error {err * 1000:.3f} mm"
    # keyframe times in seconds from 0, the original start kept
    times = data["accessors"][data["json"]["animations"][0]["samplers"][0]["input"]]
    np.testing.assert_allclose(times, t - t[0], atol=1e-6)
    assert data["json"]["extras"]["posestack"]["time_offset_s"] == pytest.approx(t[0])
    # Y up: the standing body's height (Anny's Z) is along glTF's Y
    extent = np.ptp(ref[0], axis=0)
    assert extent[1] > 1.5 * extent[[0, 2]].max()


def test_all_influences_and_axes(body, tmp_path):
    """12 influence slots hold all of Anny's (<= 9): only float32 error remains."""
    params, _ = motion(frames=2, seed=3)
    ref = body(params)["vertices"]
    for axes, rot in (("z_up", np.eye(3)), (None, AXES["y_up"])):
        data = read_glb(write_glb(tmp_path / "all.glb", body, params, axes=axes,
                                  influences=12))
        assert "JOINTS_2" in data["json"]["meshes"][0]["primitives"][0]["attributes"]
        times = data["accessors"][data["json"]["animations"][0]["samplers"][0]["input"]]
        np.testing.assert_allclose(times, [0, 1 / 30], rtol=1e-6)   # default: frame / 30 s
        for i in range(2):
            err = np.linalg.norm(skin_glb(data, i) - ref[i] @ rot.T, axis=1).max()
            assert err < TOL_EXACT_M, f"{axes}: {err * 1000:.4f} mm"


def test_glb_structure(written):
    """The spec basics: header, chunk alignment and padding, accessors, skin, animation."""
    path = written[0]
    raw = path.read_bytes()
    magic, version, length = struct.unpack_from("<4sII", raw)
    assert (magic, version, length) == (b"glTF", 2, len(raw))
    json_len, json_type = struct.unpack_from("<I4s", raw, 12)
    assert json_type == b"JSON" and json_len % 4 == 0
    js = raw[20:20 + json_len]
    body_json = js.rstrip(b" ")
    assert set(js[len(body_json):]) <= {0x20}
    gltf = json.loads(body_json)
    bin_len, bin_type = struct.unpack_from("<I4s", raw, 20 + json_len)
    assert bin_type == b"BIN\0" and bin_len % 4 == 0
    assert 28 + json_len + bin_len == len(raw)
    binary = raw[28 + json_len:]
    assert gltf["asset"]["version"] == "2.0"
    assert gltf["buffers"] == [{"byteLength": bin_len}]

    # bufferViews inside the buffer, 4-byte aligned; the gaps (padding) are zeros
    covered = np.zeros(bin_len, bool)
    for v in gltf["bufferViews"]:
        assert v["byteOffset"] % 4 == 0 and v["byteOffset"] + v["byteLength"] <= bin_len
        covered[v["byteOffset"]:v["byteOffset"] + v["byteLength"]] = True
    assert not np.frombuffer(binary, np.uint8)[~covered].any()

    data = read_glb(path)
    acc = data["accessors"]
    for a, arr in zip(gltf["accessors"], acc, strict=True):
        view = gltf["bufferViews"][a["bufferView"]]
        assert arr.nbytes <= view["byteLength"]
    prim = gltf["meshes"][0]["primitives"][0]
    attrs = prim["attributes"]
    assert {"POSITION", "NORMAL", "JOINTS_0", "WEIGHTS_0", "JOINTS_1", "WEIGHTS_1"} <= set(attrs)
    pos = gltf["accessors"][attrs["POSITION"]]
    assert pos["min"] == acc[attrs["POSITION"]].min(0).tolist()
    assert pos["max"] == acc[attrs["POSITION"]].max(0).tolist()
    V = len(acc[attrs["POSITION"]])
    assert gltf["accessors"][prim["indices"]]["componentType"] == 5125   # uint32
    assert acc[prim["indices"]].max() < V and len(acc[prim["indices"]]) % 3 == 0
    np.testing.assert_allclose(np.linalg.norm(acc[attrs["NORMAL"]], axis=1), 1, atol=1e-5)
    weights = acc[attrs["WEIGHTS_0"]].astype(float) + acc[attrs["WEIGHTS_1"]]
    np.testing.assert_allclose(weights.sum(1), 1, atol=1e-6)

    skin = gltf["skins"][0]
    assert len(skin["joints"]) == 104 == len(set(skin["joints"]))
    assert max(acc[attrs["JOINTS_0"]].max(), acc[attrs["JOINTS_1"]].max()) < 104
    ibm = acc[skin["inverseBindMatrices"]]
    assert ibm.shape == (104, 4, 4) and (ibm[:, 3] == [0, 0, 0, 1]).all()
    mesh_node = next(n for n in gltf["nodes"] if "mesh" in n)
    assert "rotation" not in mesh_node and "translation" not in mesh_node
    assert gltf["nodes"].index(mesh_node) in gltf["scenes"][0]["nodes"]

    (anim,) = gltf["animations"]
    for s in anim["samplers"]:
        t = acc[s["input"]]
        assert s["interpolation"] == "LINEAR" and t[0] == 0 and np.all(np.diff(t) > 0)
        assert gltf["accessors"][s["input"]]["min"] == [t.min()]
        assert gltf["accessors"][s["input"]]["max"] == [t.max()]
        assert len(acc[s["output"]]) == len(t)
    for c in anim["channels"]:
        out = acc[anim["samplers"][c["sampler"]]["output"]]
        if c["target"]["path"] == "rotation":
            np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1, atol=1e-6)
            assert (np.sum(out[1:] * out[:-1], 1) >= 0).all()   # shortest-path slerp
    animated = {(c["target"]["node"], c["target"]["path"]) for c in anim["channels"]}
    assert (0, "translation") in animated and (0, "rotation") in animated


def test_loads_in_trimesh(written):
    trimesh = pytest.importorskip("trimesh")
    path = written[0]
    scene = trimesh.load(path, process=False)
    (mesh,) = scene.geometry.values()
    assert mesh.vertices.shape == (13718, 3) and mesh.faces.shape == (27420, 3)
    extent = np.ptp(mesh.vertices, axis=0)
    assert extent[1] > 1.2 and extent[1] > 1.5 * extent[[0, 2]].max()   # stands along Y


def test_bad_input_writes_nothing(body, tmp_path):
    params, t = motion(frames=3)
    target = tmp_path / "bad.glb"
    with pytest.raises(InputError, match="times"):
        write_glb(target, body, params, times=t[:2])
    with pytest.raises(InputError, match="increasing"):
        write_glb(target, body, params, times=t[::-1])
    params.pose[1, 4, 0] = np.nan
    with pytest.raises(InputError, match="pose"):
        write_glb(target, body, params)
    params, _ = motion(frames=3)
    params.transl = params.transl[:2]
    with pytest.raises(InputError, match="shape"):
        write_glb(target, body, params)
    with pytest.raises(InputError, match="axes"):
        write_glb(target, body, motion(frames=3)[0], axes="x_up")
    assert list(tmp_path.iterdir()) == []
