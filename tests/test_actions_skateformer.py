"""SkateFormer (issue 15, item 2): the released configuration's size, and that each of the
four skeletal-temporal partitions attends exactly within its windows (a change at one
frame and joint reaches only the frames and joints of its window)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from posestack.actions.skateformer import build_skateformer  # noqa: E402
from posestack.actions.stgcn import parameter_count  # noqa: E402


def test_released_ntu_configurations_have_their_published_size():
    """3,616,083 (NTU-60) and 3,627,663 (NTU-120): the released configs' counts (the
    Hugging Face card says 3.62M / 3.63M); 3D joints, 2 persons, 64 frames."""
    assert parameter_count(build_skateformer(60, "ntu25", 3, 2, 64)) == 3_616_083
    assert parameter_count(build_skateformer(120, "ntu25", 3, 2, 64)) == 3_627_663


def _reach(kind: int, T: int = 16, num_person: int = 2, t0: int = 5, p0: int = 9):
    """Which (frame, point) outputs of partition ``kind`` depend on input (t0, p0)."""
    m = build_skateformer(4, "ntu25", 3, num_person, T, width=32, heads=32).eval()
    part = m.stages[0][0].parts[kind - 1]
    P = m.embed.shape[1]
    x = torch.randn(1, T, P, 3 * 4, requires_grad=True)    # 3 × (C/8) with C = 32
    y = part(x)
    hit = np.zeros((T, P), bool)
    for t in range(T):
        for p in range(P):
            g, = torch.autograd.grad(y[0, t, p].sum(), x, retain_graph=True)
            hit[t, p] = bool(g[0, t0, p0].abs().sum() > 0)
    return hit


@pytest.mark.parametrize("kind", [1, 2, 3, 4])
def test_each_partition_attends_within_its_windows(kind):
    # ntu25: 6 groups of 4 joints, 2 persons -> P = 48 points; L = 8 neighbouring points
    # (two groups), K = 12 distant points (one slot of each group); T = 16, n = 8 frames.
    T, P, t0, p0 = 16, 48, 5, 9
    hit = _reach(kind, T, 2, t0, p0)
    frames = set(range(8)) if kind in (1, 2) else {1, 3, 5, 7, 9, 11, 13, 15}
    # consecutive: frames 0-7 hold t0 = 5; strided (stride T/n = 2): the odd frames
    points = set(range(8, 16)) if kind in (1, 3) else set(range(1, 48, 4))
    # neighbouring: points 8-15 (groups 2-3) hold p0 = 9; distant: slot 1 of every group
    want = np.zeros((T, P), bool)
    for t in frames:
        for p in points:
            want[t, p] = True
    assert (hit == want).all(), (np.nonzero(hit), kind)


def test_forward_shapes_for_coco_2d_and_odd_lengths():
    m = build_skateformer(5, "coco", 3, 1, 36, width=32).eval()
    with torch.no_grad():
        assert m(torch.randn(2, 1, 36, 17, 3)).shape == (2, 5)
