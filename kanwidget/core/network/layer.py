"""One KAN layer: a learnable 1-D function on every edge (input i -> output j).

phi_ij(x) = mask_ij * [ (1 - s_ij) * (scale_base_ij * silu(x) + scale_sp_ij * spline_ij(x))
                        + s_ij * (c * f_ij(a * x + b) + d) ]
where s_ij is 1 for edges fixed to a symbolic function f_ij. The spline part runs as one matmul
over (N, I*M) bases; symbolic edges are grouped by function and evaluated one group per tensor op.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from kanwidget.core.numerics import spline
from kanwidget.core.numerics.symbolic import SYMBOLIC_LIB


EXPLICIT_ACTIVATION_LIMIT = 2 ** 18  # N*I*O up to which the regulariser builds per-edge activations


class _FusedSplineLayer(torch.autograd.Function):
    """Spline layer with silu base and no symbolic edges as one autograd node with a hand-written backward.

    Returns y (N, O) and, with with_std, every edge's batch std (I, O) (unbiased). The backward needs
    ~10 tensor ops instead of the ~25 autograd nodes of the composed form (training is op-bound).
    """

    @staticmethod
    def forward(ctx, x: Tensor, coef: Tensor, scale_sp: Tensor, scale_base: Tensor, mask: Tensor, bias: Tensor,
                bases: Tensor, slopes: Tensor | None, with_std: bool) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        n = x.shape[0]
        out_dim = coef.shape[1]
        need_x = ctx.needs_input_grad[0]
        sig = torch.sigmoid(x)
        silu = x * sig
        wsp = coef * (scale_sp * mask).unsqueeze(-1)                                 # (I, O, M)
        wb = scale_base * mask                                                       # (I, O)
        if with_std:
            acts = torch.baddbmm(silu.t().unsqueeze(-1) * wb.unsqueeze(1), bases.transpose(0, 1),
                                 wsp.transpose(1, 2))                                # (I, N, O)
            y = acts.sum(0) + bias
            centred = acts - acts.mean(1, keepdim=True)
            std = torch.sqrt(centred.square().sum(1) / max(n - 1, 1) + torch.finfo(x.dtype).tiny)
        else:
            y = torch.addmm(bias, bases.reshape(n, -1), wsp.transpose(1, 2).reshape(-1, out_dim))
            y.addmm_(silu, wb)
            centred = std = x.new_empty(0)
        ctx.with_std = with_std
        ctx.save_for_backward(x, bases, slopes if need_x and slopes is not None else x.new_empty(0), sig, silu, wsp, wb, coef,
                              scale_sp, mask, centred, std)
        return y, std

    @staticmethod
    @once_differentiable
    def backward(ctx, gy: Tensor, gstd: Tensor):  # type: ignore[override]
        x, bases, slopes, sig, silu, wsp, wb, coef, scale_sp, mask, centred, std = ctx.saved_tensors
        n, in_dim = x.shape
        out_dim = coef.shape[1]
        gx = None
        if ctx.with_std:
            g = gy.unsqueeze(0) + centred * (gstd / (max(n - 1, 1) * std)).unsqueeze(1)   # dL/dphi (I, N, O)
            gwsp = torch.bmm(bases.permute(1, 2, 0), g).transpose(1, 2)                   # (I, O, M)
            gwb = torch.bmm(silu.t().unsqueeze(1), g).squeeze(1)                          # (I, O)
            if ctx.needs_input_grad[0]:
                h = torch.bmm(g, wsp).transpose(0, 1)                                     # (N, I, M)
                gb = torch.bmm(g, wb.unsqueeze(-1)).squeeze(-1).t()                      # (N, I)
        else:
            gwsp = (bases.reshape(n, -1).t() @ gy).view(in_dim, -1, out_dim).transpose(1, 2)
            gwb = silu.t() @ gy
            if ctx.needs_input_grad[0]:
                h = (gy @ wsp.transpose(1, 2).reshape(-1, out_dim).t()).view(n, in_dim, -1)
                gb = gy @ wb.t()
        if ctx.needs_input_grad[0]:
            dsilu = sig * (1 + x * (1 - sig))
            gx = (slopes * h).sum(-1) + dsilu * gb
        gcoef = gwsp * (scale_sp * mask).unsqueeze(-1) if ctx.needs_input_grad[1] else None
        gsp = (gwsp * coef).sum(-1) * mask if ctx.needs_input_grad[2] else None
        gsb = gwb * mask if ctx.needs_input_grad[3] else None
        gbias = gy.sum(0) if ctx.needs_input_grad[5] else None
        return gx, gcoef, gsp, gsb, None, gbias, None, None, None


@dataclass(frozen=True)
class _SymbolicPlan:
    ii: Tensor                          # (E,) input of each symbolic edge, grouped by function
    jj: Tensor                          # (E,) output of each symbolic edge
    flat: Tensor                        # (E,) ii * out_dim + jj
    groups: list[tuple[str, int, int]]  # (function name, start, end) slices of the edges


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
        self._group_cache: tuple[tuple[int, ...], _SymbolicPlan] | None = None
        self._basis_cache: tuple[Tensor, tuple[int, ...], Tensor] | None = None

    # ----------------------------------------------------------------- forward
    @property
    def numeric_mask(self) -> Tensor:
        """Mask of edges computed by the spline branch."""
        return self.mask * (1.0 - self.sym_mask) if self.sym_names else self.mask

    @property
    def fusable(self) -> bool:
        """Whether the fused training path applies (silu base, no symbolic edges, grad enabled)."""
        return self.base_fun is nn.functional.silu and not self.has_symbolic and torch.is_grad_enabled()

    def forward(self, x: Tensor) -> Tensor:
        if self.fusable:
            return self._fused(x, with_std=False)[0]
        return self.forward_with_bases(x)[0]

    def _fused(self, x: Tensor, with_std: bool) -> tuple[Tensor, Tensor]:
        bases, slopes = self._training_bases(x)
        return _FusedSplineLayer.apply(x, self.coef, self.scale_sp, self.scale_base, self.mask, self.bias,
                                       bases, slopes, with_std)

    def _training_bases(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        """Bases (and slopes when x needs a gradient). Bases of an input that needs no gradient (the
        first layer's data) are kept until that tensor or the grid changes: an LBFGS step evaluates
        the same inputs ~20 times."""
        if x.requires_grad:
            return spline._bases_and_derivative(x, self.grid, self.k, need_derivative=True)
        key = (x._version, self.grid._version, id(self.grid))
        cached = self._basis_cache
        if cached is not None and cached[0] is x and cached[1] == key:
            return cached[2], None
        bases = spline._bases_and_derivative(x, self.grid, self.k, need_derivative=False)[0]
        self._basis_cache = (x, key, bases)
        return bases, None

    def forward_with_bases(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Layer output (N, O) and the bases (N, I, M) it used."""
        n = x.shape[0]
        bases = spline.bspline_basis(x, self.grid, self.k)
        nm = self.numeric_mask
        w_sp = (self.coef * (self.scale_sp * nm).unsqueeze(-1)).transpose(1, 2).reshape(-1, self.out_dim)
        y = torch.addmm(self.bias, bases.reshape(n, -1), w_sp) + self.base_fun(x) @ (self.scale_base * nm)
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
            return self._fused(x, with_std=True)
        if n * self.in_dim * self.out_dim > EXPLICIT_ACTIVATION_LIMIT:
            y, bases = self.forward_with_bases(x)
            return y, self.numeric_edge_std(x, bases)
        bases = spline.bspline_basis(x, self.grid, self.k)
        nm = self.numeric_mask
        acts = torch.bmm(bases.transpose(0, 1), (self.coef * (self.scale_sp * nm).unsqueeze(-1)).transpose(1, 2))
        acts = acts + self.base_fun(x).T.unsqueeze(-1) * (self.scale_base * nm).unsqueeze(1)   # (I, N, O)
        y = acts.sum(0) + self.bias
        if self.has_symbolic:
            y = y + self._symbolic_forward(x)
        var = acts.var(1)
        return y, torch.sqrt(var + torch.finfo(x.dtype).tiny)

    # ------------------------------------------------------------ statistics
    def numeric_edge_std(self, x: Tensor, bases: Tensor) -> Tensor:
        """Batch std (unbiased) of every edge's spline-branch output, (I, O), without building (N, I, O).

        phi_io = w_io . f_i(x) with f_i = [silu(x_i), B_1(x_i), ...], so var(phi_io) = w_io^T Cov(f_i) w_io.
        """
        n = x.shape[0]
        feats = torch.cat([self.base_fun(x).unsqueeze(-1), bases], dim=-1)     # (N, I, M+1)
        centred = feats - feats.mean(0, keepdim=True)
        cov = torch.einsum("nim,nil->iml", centred, centred) / max(n - 1, 1)   # (I, M+1, M+1)
        nm = self.numeric_mask
        w = torch.cat([(self.scale_base * nm).unsqueeze(-1), self.coef * (self.scale_sp * nm).unsqueeze(-1)], dim=-1)
        var = torch.einsum("iom,iml,iol->io", w, cov, w)
        return torch.sqrt(var.clamp_min(0.0) + torch.finfo(x.dtype).tiny)

    def edge_activations(self, x: Tensor) -> Tensor:
        """Every edge's phi on the samples, (N, I, O). Costs N*I*O memory: not for the training hot path."""
        nm = self.numeric_mask
        acts = spline.coef_to_curve(x, self.grid, self.coef, self.k) * (self.scale_sp * nm)
        acts = acts + self.base_fun(x).unsqueeze(-1) * (self.scale_base * nm)
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

    def _symbolic_plan(self) -> "_SymbolicPlan":
        """Symbolic edges sorted by function (cached until the symbolic assignment changes)."""
        key = (self.sym_mask._version, self.sym_fun_ids._version, id(self.sym_mask), len(self.sym_names))
        if self._group_cache is None or self._group_cache[0] != key:
            active = self.sym_mask > 0
            ii_parts, jj_parts, groups, start = [], [], [], 0
            for fid, name in enumerate(self.sym_names):
                ii, jj = torch.nonzero(active & (self.sym_fun_ids == fid), as_tuple=True)
                if ii.numel():
                    ii_parts.append(ii)
                    jj_parts.append(jj)
                    groups.append((name, start, start + ii.numel()))
                    start += ii.numel()
            empty = torch.zeros(0, dtype=torch.long, device=self.sym_mask.device)
            ii = torch.cat(ii_parts) if ii_parts else empty
            jj = torch.cat(jj_parts) if jj_parts else empty
            self._group_cache = (key, _SymbolicPlan(ii, jj, ii * self.out_dim + jj, groups))
        return self._group_cache[1]

    def _symbolic_edge_values(self, x: Tensor) -> tuple[_SymbolicPlan, Tensor]:
        """mask * (c*f(a*x+b)+d) of every symbolic edge, (E, N): one gather, one op per function."""
        plan = self._symbolic_plan()
        p = self.sym_affine.reshape(-1, 4).index_select(0, plan.flat)                  # (E, 4)
        z = x.t().contiguous().index_select(0, plan.ii)                               # (E, N)
        z = torch.addcmul(p[:, 1:2], p[:, 0:1], z)
        f = torch.cat([SYMBOLIC_LIB[name].torch_fn(z[a:b]) for name, a, b in plan.groups])
        v = torch.addcmul(p[:, 3:4], p[:, 2:3], f) * self.mask.reshape(-1).index_select(0, plan.flat)[:, None]
        return plan, v

    def _symbolic_forward(self, x: Tensor) -> Tensor:
        """Sum of the symbolic edges' outputs per node, (N, O)."""
        plan, v = self._symbolic_edge_values(x)
        return v.new_zeros(self.out_dim, x.shape[0]).index_add(0, plan.jj, v).t()

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
    def grid_from_samples(self, x: Tensor, intervals: int | None = None) -> Tensor:
        """Extended knots (I, G+2k+1) following the samples: percentile grid blended with a uniform one.

        Inputs whose samples are (nearly) constant keep their current knots.
        """
        intervals = intervals or self.num
        n = x.shape[0]
        xs = torch.sort(x, dim=0).values
        idx = torch.linspace(0, n - 1, intervals + 1, device=x.device).round().long()
        adaptive = xs[idx].T                                                       # (I, G+1)
        lo, hi = xs[0], xs[-1]
        uniform = spline.uniform_grid(self.in_dim, intervals, lo, hi, dtype=x.dtype, device=x.device)
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
        """Move the grid to the sample distribution, refitting the splines so the curves are kept."""
        with torch.no_grad():
            y = self.spline_values(x)
            knots = self.grid_from_samples(x)
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
