"""One KAN layer: a learnable 1-D function on every edge (input i -> output j).

phi_ij(x) = mask_ij * [ (1 - s_ij) * (scale_base_ij * silu(x) + scale_sp_ij * spline_ij(x))
                        + s_ij * (c * f_ij(a * x + b) + d) ]
where s_ij is 1 for edges fixed to a symbolic function f_ij. The weighting lives in phi.py (every path
below takes its weights from there); the spline part runs as one matmul over (N, I*M) bases, the
training hot path as one autograd node (fused_spline.py, with the numeric mask when some edges are
symbolic), and symbolic edges are grouped by function (symbolic_branch.py) and summed per node by one
autograd node of their own (symbolic_node.py); edge_activations keeps the composed per-edge form.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

from kanwidget.core.network.fused_spline import ConstantFeatures, ConstantInputSplineLayer, FusedSplineLayer
from kanwidget.core.network.phi import edge_outputs, layer_output, numeric_weights
from kanwidget.core.network.symbolic_branch import SymbolicPlan, plan_symbolic_edges, symbolic_edge_values
from kanwidget.core.network.symbolic_node import symbolic_layer_output
from kanwidget.core.numerics import spline


EXPLICIT_ACTIVATION_LIMIT = 2 ** 18  # N*I*O up to which the regulariser builds per-edge activations
INPUT_CACHE_SLOTS = 2  # no-gradient inputs whose bases a layer keeps: fit's training and test data
GRID_MARGIN = 0.03     # grid updates: the uniform grid's margin past the samples, in intervals


class KANLayer(nn.Module):
    """A layer of in_dim x out_dim learnable edge functions on per-input B-spline grids."""

    def __init__(self, in_dim: int, out_dim: int, grid: int = 5, k: int = 3, noise_scale: float = 0.5,
                 scale_base_mu: float = 0.0, scale_base_sigma: float = 1.0, grid_eps: float = 0.02,
                 grid_range: tuple[float, float] = (-1.0, 1.0), base_fun: Callable[[Tensor], Tensor] = nn.functional.silu,
                 generator: torch.Generator | None = None, dtype: torch.dtype | None = None,
                 device: torch.device | str | None = None) -> None:
        super().__init__()
        dtype = dtype or torch.get_default_dtype()
        self.in_dim, self.out_dim, self.num, self.k = in_dim, out_dim, grid, k
        self.grid_eps = grid_eps
        self.base_fun = base_fun
        knots = spline.extend_grid(spline.uniform_grid(in_dim, grid, grid_range[0], grid_range[1], dtype=dtype), k)
        self.register_buffer("grid", knots.to(device))
        noise = (torch.rand(in_dim, out_dim, grid + k, generator=generator, dtype=dtype) - 0.5) * noise_scale / grid
        self.coef = nn.Parameter(noise.to(device))
        sb = (scale_base_mu + scale_base_sigma * (torch.rand(in_dim, out_dim, generator=generator, dtype=dtype) * 2 - 1))
        self.scale_base = nn.Parameter((sb / in_dim ** 0.5).to(device))
        self.scale_sp = nn.Parameter(torch.full((in_dim, out_dim), 1.0 / in_dim ** 0.5, dtype=dtype, device=device))
        self.register_buffer("mask", torch.ones(in_dim, out_dim, dtype=dtype, device=device))
        # constant per output; pruning moves the mean contribution of removed edges here
        self.register_buffer("bias", torch.zeros(out_dim, dtype=dtype, device=device))
        self.register_buffer("sym_mask", torch.zeros(in_dim, out_dim, dtype=dtype, device=device))
        self.register_buffer("sym_fun_ids", torch.zeros(in_dim, out_dim, dtype=torch.long, device=device))
        affine = torch.zeros(in_dim, out_dim, 4, dtype=dtype, device=device)
        affine[..., 0] = 1.0
        affine[..., 2] = 1.0
        self.sym_affine = nn.Parameter(affine)
        self.sym_names: list[str] = []
        self._group_cache: tuple[tuple[int, ...], SymbolicPlan] | None = None
        # id(x) -> (x, key, bases, [features]) of inputs that need no gradient: the training and the test data
        self._basis_cache: dict[int, tuple[Tensor, tuple[int, ...], Tensor, list[ConstantFeatures]]] = {}

    # ----------------------------------------------------------------- forward
    @property
    def numeric_mask(self) -> Tensor:
        """Mask of edges computed by the spline branch: mask * (1 - sym_mask)."""
        return self.mask * (1.0 - self.sym_mask) if self.sym_names else self.mask

    def numeric_weights(self) -> tuple[Tensor, Tensor]:
        """phi's numeric-branch weights (w_spline (I, O, M), w_base (I, O)); see phi.py."""
        return numeric_weights(self.coef, self.scale_sp, self.scale_base, self.numeric_mask)

    @property
    def fusable(self) -> bool:
        """Whether the fused training path applies to the numeric branch (silu base, grad enabled).

        Symbolic edges are added by their own node (symbolic_node.py); the fused node then gets the numeric mask."""
        return self.base_fun is nn.functional.silu and torch.is_grad_enabled()

    def forward(self, x: Tensor) -> Tensor:
        if self.has_symbolic:
            ys = self._symbolic_forward(x)
            if self._only_symbolic():     # no numeric edge left: the spline branch would add exact zeros
                return ys + self.bias
            numeric = self._fused(x, with_std=False)[0] if self.fusable else self._numeric_forward(x)[0]
            return numeric + ys
        if self.fusable:
            return self._fused(x, with_std=False)[0]
        return self._numeric_forward(x)[0]

    def _only_symbolic(self) -> bool:
        """Whether every edge is symbolic or masked (numeric_mask all zero)."""
        return not bool(self.numeric_mask.any())

    def _fused(self, x: Tensor, with_std: bool) -> tuple[Tensor, Tensor]:
        """The training hot path of the numeric branch: phi's weighting from phi.py inside one autograd node
        with the numeric mask (symbolic edges off). Inputs that need no gradient (the data) use their
        cached features (ConstantInputSplineLayer): one matmul, edge std from the features' covariance."""
        mask = self.numeric_mask
        if not x.requires_grad:
            return ConstantInputSplineLayer.apply(self._constant_features(x), self.coef, self.scale_sp,
                                                  self.scale_base, mask, self.bias, with_std)
        bases, slopes = self._training_bases(x)
        return FusedSplineLayer.apply(x, self.coef, self.scale_sp, self.scale_base, mask, self.bias,
                                      bases, slopes, with_std)

    def _training_bases(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        """Bases (and slopes when x needs a gradient). Bases of an input that needs no gradient (the
        first layer's data) are kept until that tensor or the grid changes: an LBFGS step evaluates
        the same inputs ~20 times."""
        if x.requires_grad:   # the fused node differentiates through the slopes itself: no autograd graph here
            with torch.no_grad():
                return spline._bases_and_derivative(x, self.grid, self.k, need_derivative=True)
        return self._cached_bases(x)[2], None

    def _cached_bases(self, x: Tensor) -> tuple[Tensor, tuple[int, ...], Tensor, list[ConstantFeatures]]:
        """The bases of x, kept until x or the grid changes, for the last INPUT_CACHE_SLOTS inputs."""
        key = (x._version, self.grid._version, id(self.grid))
        cache = self._basis_cache
        hit = cache.pop(id(x), None)
        if hit is None or hit[0] is not x or hit[1] != key:
            hit = (x, key, spline._bases_and_derivative(x, self.grid, self.k, need_derivative=False)[0], [])
        while len(cache) >= INPUT_CACHE_SLOTS:
            cache.pop(next(iter(cache)))                  # the least recently used input goes
        cache[id(x)] = hit
        return hit

    def _constant_features(self, x: Tensor) -> ConstantFeatures:
        """[silu(x), bases] of a no-gradient input and their covariance, cached with its bases."""
        cached = self._cached_bases(x)
        if not cached[3]:
            features = ConstantFeatures(x, cached[2])
            # keep one copy: the bases become a view into the features (same values)
            self._basis_cache[id(x)] = (cached[0], cached[1], features.bases, [features])
            return features
        return cached[3][0]

    def _numeric_forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """bias + the numeric branch (N, O) in composed form, and the bases (N, I, M) it used."""
        bases = spline.bspline_basis(x, self.grid, self.k)
        return layer_output(self.bias, bases, self.base_fun(x), *self.numeric_weights()), bases

    def forward_with_bases(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Layer output (N, O) and the bases (N, I, M) it used."""
        y, bases = self._numeric_forward(x)
        if self.has_symbolic:
            y = y + self._symbolic_forward(x)
        return y, bases

    def forward_with_edge_std(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Layer output (N, O) and every edge's spline-branch batch std (I, O), for the regulariser.

        Small layers build the (N, I, O) activations explicitly (fewer tensor ops: faster);
        large ones use the covariance form of numeric_edge_std and never hold (N, I, O).
        """
        n = x.shape[0]
        if self.fusable and n * self.in_dim * self.out_dim <= EXPLICIT_ACTIVATION_LIMIT:
            y, std = self._fused(x, with_std=True)
            return (y + self._symbolic_forward(x), std) if self.has_symbolic else (y, std)
        if n * self.in_dim * self.out_dim > EXPLICIT_ACTIVATION_LIMIT:
            y, bases = self.forward_with_bases(x)
            return y, self.numeric_edge_std(x, bases)
        bases = spline.bspline_basis(x, self.grid, self.k)
        acts = edge_outputs(bases, self.base_fun(x), *self.numeric_weights())          # (I, N, O)
        y = acts.sum(0) + self.bias
        if self.has_symbolic:
            y = y + self._symbolic_forward(x)
        return y, torch.sqrt(acts.var(1) + torch.finfo(x.dtype).tiny)

    # ------------------------------------------------------------ statistics
    def numeric_edge_std(self, x: Tensor, bases: Tensor) -> Tensor:
        """Batch std (unbiased) of every edge's spline-branch output, (I, O), without building (N, I, O).

        phi_io = w_io . f_i(x) with f_i = [base(x_i), B_1(x_i), ...], so var(phi_io) = w_io^T Cov(f_i) w_io.
        """
        n = x.shape[0]
        feats = torch.cat([self.base_fun(x).unsqueeze(-1), bases], dim=-1)     # (N, I, M+1)
        centred = feats - feats.mean(0, keepdim=True)
        cov = torch.einsum("nim,nil->iml", centred, centred) / max(n - 1, 1)   # (I, M+1, M+1)
        w_spline, w_base = self.numeric_weights()
        w = torch.cat([w_base.unsqueeze(-1), w_spline], dim=-1)                # (I, O, M+1)
        var = torch.einsum("iom,iml,iol->io", w, cov, w)
        return torch.sqrt(var.clamp_min(0.0) + torch.finfo(x.dtype).tiny)

    def edge_activations(self, x: Tensor) -> Tensor:
        """Every edge's phi on the samples, (N, I, O). Costs N*I*O memory: not for the training hot path."""
        bases = spline.bspline_basis(x, self.grid, self.k)
        acts = edge_outputs(bases, self.base_fun(x), *self.numeric_weights()).transpose(0, 1)
        if self.has_symbolic:
            plan, v = self._symbolic_edge_values(x)
            rows = torch.arange(x.shape[0], device=x.device)[:, None]
            acts = acts.index_put((rows, plan.ii[None, :], plan.jj[None, :]), v.t())
        return acts

    def spline_values(self, x: Tensor) -> Tensor:
        """Raw spline sums (N, I, O), without scale_sp, base or mask."""
        return spline.coef_to_curve(x, self.grid, self.coef, self.k)

    # -------------------------------------------------------------- symbolic
    @property
    def has_symbolic(self) -> bool:
        return bool(self.sym_names) and bool(self.sym_mask.any())

    def _symbolic_plan(self) -> SymbolicPlan:
        """Symbolic edges sorted by function (cached until the symbolic assignment changes)."""
        key = (self.sym_mask._version, self.sym_fun_ids._version, id(self.sym_mask), len(self.sym_names))
        if self._group_cache is None or self._group_cache[0] != key:
            self._group_cache = (key, plan_symbolic_edges(self.sym_mask, self.sym_fun_ids, self.sym_names))
        return self._group_cache[1]

    def _symbolic_edge_values(self, x: Tensor) -> tuple[SymbolicPlan, Tensor]:
        """mask * (c*f(a*x+b)+d) of every symbolic edge, (E, N)."""
        plan = self._symbolic_plan()
        return plan, symbolic_edge_values(plan, x, self.sym_affine, self.mask)

    def _symbolic_forward(self, x: Tensor) -> Tensor:
        """Sum of the symbolic edges' outputs per node, (N, O), as one autograd node (symbolic_node.py)."""
        return symbolic_layer_output(self._symbolic_plan(), x, self.sym_affine, self.mask, self.out_dim)

    def set_symbolic(self, i: int, j: int, name: str | None, affine: Tensor | None = None) -> None:
        """Fix edge (i, j) to library function `name` with affine (a, b, c, d), or back to spline (None)."""
        with torch.no_grad():
            if name is None:
                self.sym_mask[i, j] = 0.0
                return
            if name not in self.sym_names:
                self.sym_names.append(name)
            self.sym_fun_ids[i, j] = self.sym_names.index(name)
            self.sym_mask[i, j] = 1.0
            if affine is not None:
                self.sym_affine[i, j] = affine.to(self.sym_affine)

    def symbolic_name(self, i: int, j: int) -> str | None:
        if self.sym_mask[i, j] > 0:
            return self.sym_names[int(self.sym_fun_ids[i, j])]
        return None

    # ------------------------------------------------------------------ grids
    def grid_from_samples(self, x: Tensor, intervals: int | None = None, margin: float = 0.0) -> Tensor:
        """Extended knots (I, G+2k+1) following the samples: percentile grid blended with a uniform one.

        knots = grid_eps * uniform + (1 - grid_eps) * percentiles; the uniform grid spans the samples' range
        widened by `margin` intervals at each end (training's grid updates use GRID_MARGIN).

        Inputs whose samples are (nearly) constant keep their current knots.
        """
        intervals = intervals or self.num
        n = x.shape[0]
        xs = torch.sort(x, dim=0).values
        idx = torch.linspace(0, n - 1, intervals + 1, device=x.device).round().long()
        adaptive = xs[idx].T                                                       # (I, G+1)
        lo, hi = xs[0], xs[-1]
        pad = margin * (hi - lo) / intervals     # the uniform part reaches a little past the samples
        uniform = spline.uniform_grid(self.in_dim, intervals, lo - pad, hi + pad, dtype=x.dtype, device=x.device)
        knots = spline.extend_grid(self.grid_eps * uniform + (1 - self.grid_eps) * adaptive, self.k)
        flat = (hi - lo) <= 1e-6 * (1 + lo.abs())
        if bool(flat.any()):
            current = self.grid_points()
            if intervals != self.num:
                steps = torch.linspace(0, 1, intervals + 1, dtype=x.dtype, device=x.device)
                current = current[:, :1] + steps[None, :] * (current[:, -1:] - current[:, :1])
            knots = torch.where(flat[:, None], spline.extend_grid(current, self.k), knots)
        return knots

    def update_grid_from_samples(self, x: Tensor) -> None:
        """Move the grid to the sample distribution, refitting the splines so the curves are kept.

        The uniform part of the grid reaches GRID_MARGIN of an interval past the samples (measured on the KAN
        paper's grid-extension example: G=3 test RMSE 1.45e-2 instead of 1.53e-2, no loss at finer grids).
        """
        with torch.no_grad():
            y = self.spline_values(x)
            knots = self.grid_from_samples(x, margin=GRID_MARGIN)
            coef = spline.curve_to_coef(x, y, knots, self.k)
            self.grid.copy_(knots)
            self.coef.copy_(coef)

    def grid_points(self) -> Tensor:
        """The (I, G+1) grid without its extension knots."""
        return self.grid[:, self.k:self.grid.shape[1] - self.k]

    # -------------------------------------------------------------- structure
    def subset(self, in_ids: list[int], out_ids: list[int]) -> "KANLayer":
        """A new layer keeping only the given inputs and outputs (all tensors copied)."""
        new = KANLayer(len(in_ids), len(out_ids), grid=self.num, k=self.k, grid_eps=self.grid_eps,
                       base_fun=self.base_fun, generator=torch.Generator().manual_seed(0),
                       dtype=self.coef.dtype, device=self.coef.device)
        ii = torch.as_tensor(in_ids, dtype=torch.long, device=self.coef.device)
        jj = torch.as_tensor(out_ids, dtype=torch.long, device=self.coef.device)
        with torch.no_grad():
            new.grid.copy_(self.grid[ii])
            for name in ("coef", "scale_base", "scale_sp", "mask", "sym_mask", "sym_fun_ids", "sym_affine"):
                getattr(new, name).copy_(getattr(self, name)[ii][:, jj])
            new.bias.copy_(self.bias[jj])
        new.sym_names = list(self.sym_names)
        return new
