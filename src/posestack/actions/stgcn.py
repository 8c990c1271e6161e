"""ST-GCN++ in plain PyTorch (no mmcv), as PYSKL describes its baseline.

Built from the published design (PYSKL ``STGCN`` backbone with ``gcn_adaptive='init'``,
``gcn_with_res=True``, ``tcn_type='mstcn'``, graph mode ``spatial``), not from its code:

* input ``(N, M, T, V, C)`` (clips, persons, frames, joints, channels); a batch norm over
  joints × channels ("VC") per person;
* ten blocks: 64 channels for blocks 1–4, 128 for 5–7, 256 for 8–10; temporal stride 2
  entering blocks 5 and 8; block 1 has no residual;
* a block = a spatial graph convolution (three subsets: identity, inward, outward edges,
  each adjacency a learnable parameter initialised from the graph; a 1×1 convolution
  makes the three subsets' features, which the adjacencies mix over joints; a residual
  1×1 convolution where the width changes) then a multi-scale temporal convolution (six
  branches: 3-frame kernels at dilations 1–4, a 3-frame max pool and a 1×1 convolution;
  each branch 1×1 down to a sixth of the width first; concatenated, then BN, ReLU, 1×1),
  then the block's residual (identity, or a strided 1×1 convolution and BN) and ReLU;
* a head: mean over persons, frames and joints, dropout, then a linear classifier.

:func:`parameter_count` of the NTU-60 3D model (C = 3, V = 25, 60 classes) is checked
against the published 1.39M in the tests.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .layouts import MODEL_LAYOUTS


def spatial_graph(layout: str) -> np.ndarray:
    """``(3, V, V)`` adjacencies of a model layout: identity, inward (towards the root),
    outward, each normalised over its columns (``A[:, j]`` sums to 1 where it is not 0)."""
    if layout not in MODEL_LAYOUTS:
        raise InputError(f"unknown layout {layout!r}; valid: {', '.join(MODEL_LAYOUTS)}")
    parents = MODEL_LAYOUTS[layout][1]
    V = len(parents)
    inward = np.zeros((V, V))
    for child, parent in enumerate(parents):
        if child != parent:
            inward[parent, child] = 1.0        # information flows child -> parent

    def norm(a: np.ndarray) -> np.ndarray:
        deg = a.sum(0)
        return a / np.where(deg > 0, deg, 1.0)

    return np.stack([np.eye(V), norm(inward), norm(inward.T)]).astype(np.float32)


def _torch():
    try:
        import torch
        from torch import nn
    except ImportError:
        raise InputError("the action models need PyTorch: pip install torch==2.13.0") from None
    return torch, nn


def build_stgcnpp(num_classes: int, layout: str = "coco", in_channels: int = 3,
                  base_channels: int = 64, dropout: float = 0.0):
    """An ST-GCN++ ``torch.nn.Module`` (see the module doc) for ``layout``'s graph.

    Args:
        num_classes: number of action classes.
        layout: ``"coco"`` (17 joints) or ``"ntu25"``.
        in_channels: channels per joint (2D + score = 3, 3D = 3, or more with stacked
            modalities).
        base_channels: width of the first blocks (64 in the paper's model).
        dropout: before the classifier.

    The module maps ``(N, M, T, V, C)`` float tensors to ``(N, num_classes)`` logits.
    """
    torch, nn = _torch()
    if num_classes < 1:
        raise InputError(f"num_classes must be at least 1; got {num_classes}")
    A0 = torch.tensor(spatial_graph(layout))

    class GCN(nn.Module):
        def __init__(self, cin: int, cout: int) -> None:
            super().__init__()
            self.A = nn.Parameter(A0.clone())
            self.k = A0.shape[0]
            self.conv = nn.Conv2d(cin, cout * self.k, 1)
            self.bn = nn.BatchNorm2d(cout)
            self.down = (nn.Identity() if cin == cout else
                         nn.Sequential(nn.Conv2d(cin, cout, 1), nn.BatchNorm2d(cout)))
            self.act = nn.ReLU()

        def forward(self, x):
            n, _, t, v = x.shape
            y = self.conv(x).view(n, self.k, -1, t, v)
            y = torch.einsum("nkctv,kvw->nctw", y, self.A)
            return self.act(self.bn(y) + self.down(x))

    class MSTCN(nn.Module):
        CFG = ((3, 1), (3, 2), (3, 3), (3, 4), ("max", 3), "1x1")

        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            nb = len(self.CFG)
            mid = cout // nb
            first = cout - mid * (nb - 1)
            branches = []
            for i, cfg in enumerate(self.CFG):
                c = first if i == 0 else mid
                if cfg == "1x1":
                    branches.append(nn.Conv2d(cin, c, 1, stride=(stride, 1)))
                elif cfg[0] == "max":
                    branches.append(nn.Sequential(
                        nn.Conv2d(cin, c, 1), nn.BatchNorm2d(c), nn.ReLU(),
                        nn.MaxPool2d((cfg[1], 1), stride=(stride, 1), padding=(1, 0))))
                else:
                    k, d = cfg
                    pad = (k + (k - 1) * (d - 1) - 1) // 2
                    branches.append(nn.Sequential(
                        nn.Conv2d(cin, c, 1), nn.BatchNorm2d(c), nn.ReLU(),
                        nn.Conv2d(c, c, (k, 1), stride=(stride, 1), padding=(pad, 0),
                                  dilation=(d, 1)),
                        nn.BatchNorm2d(c)))
            self.branches = nn.ModuleList(branches)
            self.transform = nn.Sequential(nn.BatchNorm2d(cout), nn.ReLU(),
                                           nn.Conv2d(cout, cout, 1))
            self.bn = nn.BatchNorm2d(cout)

        def forward(self, x):
            y = torch.cat([b(x) for b in self.branches], dim=1)
            return self.bn(self.transform(y))

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int, residual: bool) -> None:
            super().__init__()
            self.gcn = GCN(cin, cout)
            self.tcn = MSTCN(cout, cout, stride)
            if not residual:
                self.res = None
            elif cin == cout and stride == 1:
                self.res = nn.Identity()
            else:
                self.res = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=(stride, 1)),
                                         nn.BatchNorm2d(cout))
            self.act = nn.ReLU()

        def forward(self, x):
            y = self.tcn(self.gcn(x))
            return self.act(y + (self.res(x) if self.res is not None else 0))

    class STGCNPP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            V = A0.shape[1]
            self.data_bn = nn.BatchNorm1d(in_channels * V)
            b = base_channels
            plan = [(in_channels, b, 1, False), (b, b, 1, True), (b, b, 1, True),
                    (b, b, 1, True), (b, 2 * b, 2, True), (2 * b, 2 * b, 1, True),
                    (2 * b, 2 * b, 1, True), (2 * b, 4 * b, 2, True),
                    (4 * b, 4 * b, 1, True), (4 * b, 4 * b, 1, True)]
            self.blocks = nn.ModuleList(Block(*p) for p in plan)
            self.drop = nn.Dropout(dropout)
            self.fc = nn.Linear(4 * b, num_classes)

        def forward(self, x):
            n, m, t, v, c = x.shape
            x = x.permute(0, 1, 3, 4, 2).reshape(n * m, v * c, t)
            x = self.data_bn(x)
            x = x.view(n * m, v, c, t).permute(0, 2, 3, 1)      # (N*M, C, T, V)
            for blk in self.blocks:
                x = blk(x)
            x = x.reshape(n, m, x.shape[1], -1).mean(dim=(1, 3))
            return self.fc(self.drop(x))

    return STGCNPP()


def parameter_count(model) -> int:
    """Trainable parameters of a ``torch.nn.Module``."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))
