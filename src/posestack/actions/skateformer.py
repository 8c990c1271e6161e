"""SkateFormer in plain PyTorch (no timm), from its published description.

Skeletal-temporal transformer (ECCV 2024; built from the facts sheet's description, no
code copied). Shapes below are for one clip of ``M`` persons, ``T`` frames:

* the joints are re-ordered into the layout's body-part groups
  (:data:`~posestack.actions.layouts.SKATE_GROUPS`, ``G`` groups of ``S`` joints) and the
  persons laid side by side: ``P = M·G·S`` points, person-major;
* a stem of three 1×1 convolutions (C → 6 → 9 → 96, GELU between);
* the Skate-embedding: a sinusoidal code of each frame's temporal index (−1 … 1 over the
  clip; our clips are sampled uniformly, so the index is a fixed ramp) times a learnable
  per-point embedding (96 × P), added to the features;
* four stages of two blocks, widths 96, 192, 192, 192; stages 2–4 open with a strided
  (7 × 1) temporal convolution and batch norm that halves ``T``;
* a block: layer norm, one linear map C → 2C split into a quarter for a graph convolution
  (8 groups, each a free P × P matrix), a quarter for a grouped (7 × 1) temporal
  convolution, and three quarters for attention; the attention part is split into the
  four skeletal-temporal partitions, each attending within its windows with 4 heads and a
  learnable relative-position bias: (1) ``N`` consecutive frames × ``L = 2S`` neighbouring
  joints (two groups), (2) ``N`` consecutive frames × ``K = M·G`` distant joints (the same
  slot of every group), (3) ``N`` frames at a stride × neighbouring joints, (4) strided
  frames × distant joints. Types 1 and 3 have a temporal-offset bias ``(2N − 1)`` per
  head; types 2 and 4 a ``(2N − 1) × K × K`` one. The parts are concatenated, projected
  (C → C) and added back (drop path); then an MLP (ratio 4) with its own residual;
* head: mean over frames and points, a linear classifier.

``N`` is 8 frames where the stage's length allows (``gcd(8, T_stage)`` otherwise, so any
clip length works). As SkateFormer's code does, the attention scale is
``heads ** -0.5`` with the 4 heads of each partition (not the head width).
:func:`~posestack.actions.stgcn.parameter_count` of the NTU-60 configuration (3D joints,
2 persons, 64 frames, 60 classes) is 3,616,083, the count of the released configuration;
the tests check it.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError
from .layouts import SKATE_GROUPS
from .stgcn import _torch


def _rel_index(n: int) -> np.ndarray:
    """``(n, n)`` indices ``i − j + n − 1`` into a ``2n − 1`` table."""
    i = np.arange(n)
    return (i[:, None] - i[None, :] + n - 1).astype(np.int64)


def build_skateformer(num_classes: int, layout: str = "ntu25", in_channels: int = 3,
                      num_person: int = 2, clip_len: int = 64, *, width: int = 96,
                      heads: int = 32, mlp_ratio: float = 4.0, drop_path: float = 0.2,
                      attn_drop: float = 0.5):
    """A SkateFormer ``torch.nn.Module`` (see the module doc).

    Args:
        num_classes: number of action classes.
        layout: ``"ntu25"`` or ``"coco"`` (its part groups: ``SKATE_GROUPS``).
        in_channels: channels per joint (3: x, y, score in 2D; x, y, z in 3D).
        num_person: persons per clip ``M`` (fixed: the embedding is per point).
        clip_len: frames per clip ``T`` (fixed: the bias tables depend on it).
        width: channels of the first stage (96 in the paper; the others are twice it).
        heads: 32 in the paper (8 graph-convolution groups; 4 heads per partition).
        mlp_ratio: 4 for NTU, 1 for NW-UCLA.
        drop_path: stochastic depth at the last block (linear from 0).
        attn_drop: dropout on the attention weights.

    The module maps ``(N, M, T, V, C)`` float tensors to ``(N, num_classes)`` logits.
    """
    torch, nn = _torch()
    if layout not in SKATE_GROUPS:
        raise InputError(f"SkateFormer has no part groups for layout {layout!r}; valid: "
                         f"{', '.join(SKATE_GROUPS)}")
    if num_classes < 1 or num_person < 1 or clip_len < 1:
        raise InputError("num_classes, num_person and clip_len must be at least 1")
    if width % 32 or heads % 8:
        raise InputError(f"width must be a multiple of 32 and heads of 8; got {width}, "
                         f"{heads}")
    groups = SKATE_GROUPS[layout]
    order = torch.tensor([j for g in groups for j in g])
    S, G = len(groups[0]), len(groups)
    P = num_person * G * S
    L, K = 2 * S, num_person * G
    if (num_person * G) % 2:
        raise InputError("SkateFormer needs an even number of part groups over the persons")
    widths = (width, 2 * width, 2 * width, 2 * width)
    depths = (2, 2, 2, 2)
    lengths = [clip_len]
    for _ in range(3):
        lengths.append((lengths[-1] + 1) // 2)    # (7,1) conv, stride 2, padding 3

    def trunc(*shape):
        p = torch.empty(*shape)
        nn.init.trunc_normal_(p, std=0.02)
        return nn.Parameter(p)

    class DropPath(nn.Module):
        def __init__(self, p: float) -> None:
            super().__init__()
            self.p = p

        def forward(self, x):
            if not self.training or self.p == 0.0:
                return x
            keep = (torch.rand(x.shape[0], *([1] * (x.ndim - 1)), device=x.device)
                    >= self.p).to(x.dtype)
            return x * keep / (1.0 - self.p)

    class Partition(nn.Module):
        """Attention within one skeletal-temporal partition type."""

        def __init__(self, kind: int, T: int, dim: int) -> None:
            super().__init__()
            self.kind, self.T = kind, T
            self.n = math.gcd(8, T)              # frames per window
            self.h = heads // 8
            self.scale = self.h ** -0.5
            self.joints = L if kind in (1, 3) else K
            if kind in (1, 3):
                self.bias = trunc(2 * self.n - 1, self.h)
                idx = _rel_index(self.n)[:, None, :, None]            # (n, 1, n, 1)
                idx = np.broadcast_to(idx, (self.n, L, self.n, L))
                self.register_buffer("index", torch.tensor(
                    idx.reshape(self.n * L, self.n * L).copy()), persistent=False)
            else:
                self.bias = trunc((2 * self.n - 1) * K * K, self.h)
                dt = _rel_index(self.n)[:, None, :, None]
                ki = np.arange(K)[None, :, None, None]
                kj = np.arange(K)[None, None, None, :]
                idx = (dt * K + ki) * K + kj                              # (n, K, n, K)
                self.register_buffer("index", torch.tensor(
                    idx.reshape(self.n * K, self.n * K).copy()), persistent=False)
            self.drop = nn.Dropout(attn_drop)

        def forward(self, x):                     # (B, T, P, 3d)
            B, T, Pn, D3 = x.shape
            n, j = self.n, self.joints
            if self.kind in (1, 2):               # consecutive frames
                x = x.view(B, T // n, n, *self._joints(Pn, D3))
                tw = T // n
            else:                                 # frames at a stride T/n
                x = x.view(B, n, T // n, *self._joints(Pn, D3)).transpose(1, 2)
                tw = T // n
            # x: (B, tw, n, a, b, D3) with the window joints on axis (4 for 1/3, 3 for 2/4)
            if self.kind in (1, 3):
                pw = Pn // j                      # contiguous: (Pn/L, L)
                x = x.permute(0, 1, 3, 2, 4, 5)  # (B, tw, pw, n, L, D3)
            else:
                pw = Pn // j                      # strided: (K, Pn/K) -> window over K
                x = x.permute(0, 1, 4, 2, 3, 5)  # (B, tw, Pn/K, n, K, D3)
            w = x.reshape(-1, n * j, 3, self.h, D3 // 3 // self.h).permute(2, 0, 3, 1, 4)
            q, k, v = w[0], w[1], w[2]            # (W, h, n·j, d)
            a = (q @ k.transpose(-2, -1)) * self.scale
            a = a + self.bias[self.index].permute(2, 0, 1)
            a = self.drop(a.softmax(-1))
            y = (a @ v).transpose(1, 2).reshape(B, tw, pw, n, j, D3 // 3)
            if self.kind in (1, 3):
                y = y.permute(0, 1, 3, 2, 4, 5)  # (B, tw, n, pw, L, d)
            else:
                y = y.permute(0, 1, 3, 4, 2, 5)  # (B, tw, n, K, Pn/K, d)
            if self.kind in (3, 4):
                y = y.transpose(1, 2)             # (B, n, tw, ...)
            return y.reshape(B, T, Pn, D3 // 3)

        def _joints(self, Pn: int, D3: int):
            if self.kind in (1, 3):
                return (Pn // L, L, D3)
            return (K, Pn // K, D3)

    class Block(nn.Module):
        def __init__(self, dim: int, T: int, dp: float) -> None:
            super().__init__()
            self.dim = dim
            g = heads // 4
            self.norm1 = nn.LayerNorm(dim)
            self.mapping = nn.Linear(dim, 2 * dim)
            self.gconv = trunc(g, P, P)
            self.tconv = nn.Conv2d(dim // 4, dim // 4, (7, 1), padding=(3, 0), groups=g)
            self.parts = nn.ModuleList(Partition(k, T, dim) for k in (1, 2, 3, 4))
            self.proj = nn.Linear(dim, dim)
            self.drop_path = DropPath(dp)
            self.norm2 = nn.LayerNorm(dim)
            hidden = int(dim * mlp_ratio)
            self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(),
                                     nn.Linear(hidden, dim))

        def forward(self, x):                     # (B, T, P, C)
            B, T, Pn, C = x.shape
            f = self.mapping(self.norm1(x))
            q = C // 4
            fg, ft, fa = f[..., :q], f[..., q:2 * q], f[..., 2 * q:]
            g = self.gconv.shape[0]
            yg = torch.einsum("btugc,gvu->btvgc", fg.reshape(B, T, Pn, g, q // g),
                              self.gconv).reshape(B, T, Pn, q)
            yt = self.tconv(ft.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
            chunks = fa.chunk(4, dim=-1)
            ya = [part(c) for part, c in zip(self.parts, chunks, strict=True)]
            y = self.proj(torch.cat([yg, yt, *ya], dim=-1))
            x = x + self.drop_path(y)
            return x + self.drop_path(self.mlp(self.norm2(x)))

    class SkateFormer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("order", order, persistent=False)
            self.stem = nn.Sequential(nn.Conv2d(in_channels, 6, 1), nn.GELU(),
                                      nn.Conv2d(6, 9, 1), nn.GELU(),
                                      nn.Conv2d(9, width, 1))
            t = torch.linspace(-1.0, 1.0, clip_len)[:, None]
            freq = 10000.0 ** (-torch.arange(0, width, 2).float() / width)
            te = torch.zeros(clip_len, width)
            te[:, 0::2] = torch.sin(t * freq)
            te[:, 1::2] = torch.cos(t * freq)
            self.register_buffer("te", te, persistent=False)
            self.embed = trunc(width, P)
            rates = np.linspace(0.0, drop_path, sum(depths))
            self.merges = nn.ModuleList()
            self.stages = nn.ModuleList()
            i, cin = 0, width
            for s, (c, d) in enumerate(zip(widths, depths, strict=True)):
                self.merges.append(nn.Identity() if s == 0 else nn.Sequential(
                    nn.Conv2d(cin, c, (7, 1), stride=(2, 1), padding=(3, 0)),
                    nn.BatchNorm2d(c)))
                self.stages.append(nn.ModuleList(
                    Block(c, lengths[s], float(rates[i + k])) for k in range(d)))
                i, cin = i + d, c
            self.fc = nn.Linear(widths[-1], num_classes)

        def forward(self, x):                     # (N, M, T, V, C)
            n, _, t, _, c = x.shape
            x = x[:, :, :, self.order]            # (N, M, T, G·S, C)
            x = x.permute(0, 4, 2, 1, 3).reshape(n, c, t, -1)       # (N, C, T, P)
            x = self.stem(x)
            x = x + torch.einsum("tc,cp->ctp", self.te, self.embed)
            for merge, blocks in zip(self.merges, self.stages, strict=True):
                x = merge(x).permute(0, 2, 3, 1)  # (N, T, P, C)
                for blk in blocks:
                    x = blk(x)
                x = x.permute(0, 3, 1, 2)
            return self.fc(x.mean(dim=(2, 3)))

    return SkateFormer()


__all__ = ["build_skateformer"]
