"""A small temporal lifter: dilated 1D convolutions over 27 frames (VideoPose3D's shape,
written here), 2D keypoints in, root-relative 3D out, for every frame of a sequence.

Input ``(B, T, K, 3)``: x, y (pixels from the mid-hip over the focal length) and a
score (0: missing). Output ``(B, T, K, 3)`` metres in the camera's axes, relative to
the mid-hip. Padding repeats the edge frames, so any T ≥ 1 works.
"""

from __future__ import annotations

import torch
from torch import nn

K = 17
DILATIONS = (1, 3, 9)  # receptive field 1 + 2 * (1 + 3 + 9) = 27 frames


class _Block(nn.Module):
    def __init__(self, width: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.pad = dilation
        self.conv = nn.Conv1d(width, width, 3, dilation=dilation, bias=False)
        self.bn = nn.BatchNorm1d(width)
        self.mix = nn.Conv1d(width, width, 1, bias=False)
        self.bn2 = nn.BatchNorm1d(width)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = nn.functional.pad(x, (self.pad, self.pad), mode="replicate")
        y = self.drop(torch.relu(self.bn(self.conv(y))))
        y = self.drop(torch.relu(self.bn2(self.mix(y))))
        return x + y


class Lifter(nn.Module):
    """The lifter (about 0.85 M parameters at ``width=256``)."""

    def __init__(self, width: int = 256, dropout: float = 0.2) -> None:
        super().__init__()
        self.inp = nn.Conv1d(K * 3, width, 1)
        self.blocks = nn.ModuleList([_Block(width, d, dropout) for d in DILATIONS])
        self.out = nn.Conv1d(width, K * 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t = x.shape[:2]
        y = self.inp(x.reshape(b, t, K * 3).transpose(1, 2))
        for blk in self.blocks:
            y = blk(y)
        return self.out(y).transpose(1, 2).reshape(b, t, K, 3)
