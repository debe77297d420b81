"""The KAN model: construction, forward pass, events and version state.

The constructor's argument checks live in `model_args.py`; training in `training.py`, simplification in `simplify.py`,
symbolic edges and formulas in `symbolic_edges.py`, persistence in `persistence.py`,
and the static picture in `plot.py`; KAN exposes them as methods with the pykan-style API.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from kanwidget.core.operations import formula, persistence, simplify, training
from kanwidget.core.operations import symbolic_edges
from kanwidget.core.operations import plot as plot_module
from kanwidget.core.operations import checkpoints, pykan_api, pykan_import
from kanwidget.core.operations import discover as discover_module
from kanwidget.core.operations import snapping, tidy as tidy_ops
from kanwidget.core.operations import reshape
from kanwidget.core.network import limits, model_args, mult_nodes
from kanwidget.core.network.history import Lineage, Version
from kanwidget.core.network.state import ModelState
from kanwidget.core.network.layer import KANLayer

BASE_FUNCTIONS = model_args.BASE_FUNCTIONS


class KAN(nn.Module):
    """A Kolmogorov-Arnold Network: a learnable 1-D function on every edge.

    >>> model = KAN(width=[2, 5, 1], grid=5, k=3, seed=42)
    >>> model(torch.rand(10, 2)).shape
    torch.Size([10, 1])
    """

    def __init__(self, width: Sequence[Any], grid: int = 3, k: int = 3, seed: int = 1, noise_scale: float = 0.3,
                 scale_base_mu: float = 0.0, scale_base_sigma: float = 1.0, grid_eps: float = model_args.GRID_EPS,
                 grid_range: Sequence[float] = (-1.0, 1.0), base_fun: str = "silu",
                 dtype: torch.dtype | None = None, device: torch.device | str = "cpu",
                 in_vars: Sequence[str] | None = None, out_vars: Sequence[str] | None = None, *,
                 sparse_init: bool = False, auto_save: bool = False, ckpt_path: str = "./model", save_act: bool = True,
                 symbolic_enabled: bool = True, affine_trainable: bool = False, sp_trainable: bool = True,
                 sb_trainable: bool = True, mult_arity: int = 2, first_init: bool = True, state_id: int = 0,
                 round: int = 0) -> None:
        """pykan's extra arguments after `*` (auto_save=True writes checkpoints into ckpt_path): docs/PYKAN.md."""
        super().__init__()
        sizes, arities = model_args.parse_width(width, mult_arity)
        base_fun = pykan_api.base_fun_name(base_fun)
        opts = model_args.check_options(grid, k, seed, noise_scale, scale_base_mu, scale_base_sigma, grid_eps, grid_range,
                              base_fun)
        dtype = model_args.check_dtype(dtype)
        model_args.check_names("in_vars", in_vars)
        model_args.check_names("out_vars", out_vars)
        outs = [mult_nodes.subnode_count(n, a) for n, a in zip(sizes, arities)]
        bound = [max(n, o) for n, o in zip(sizes, outs)]   # = sizes without multiplication nodes
        limits.check_model_size(bound, opts["grid"], opts["k"], dtype)
        self._row_bytes = limits.bytes_per_row(bound, opts["grid"], opts["k"], dtype)
        self.config: dict[str, Any] = dict(width=sizes, **opts)
        self.mult_arities: list[tuple[int, ...]] | None = arities if any(arities) else None
        if self.mult_arities is not None:   # config carries the layout only when there is one (old files unchanged)
            self.config["mult_arity"] = [list(a) for a in arities]
        generator = torch.Generator().manual_seed(opts["seed"])
        layer_opts = {name: opts[name] for name in ("grid", "k", "noise_scale", "scale_base_mu", "scale_base_sigma",
                                                    "grid_eps")}
        self.layers = nn.ModuleList(
            KANLayer(sizes[l], outs[l + 1], **layer_opts, grid_range=tuple(opts["grid_range"]),
                     base_fun=BASE_FUNCTIONS[base_fun], generator=generator, dtype=dtype, device=device)
            for l in range(len(sizes) - 1))
        self.in_vars = self._check_vars(in_vars, sizes[0], "in_vars")
        self.out_vars = self._check_vars(out_vars, sizes[-1], "out_vars")
        self.lineage = Lineage()
        self.steps_trained = 0
        self.data: dict[str, Tensor] | None = None
        self.fit_generator = torch.Generator().manual_seed(opts["seed"])
        self.edge_scores: list[Tensor] | None = None
        self.node_scores: list[Tensor] | None = None
        self.feature_score: Tensor | None = None
        pykan_api.apply_options(self, sparse_init, auto_save, ckpt_path, save_act, symbolic_enabled, affine_trainable,
                                sp_trainable, sb_trainable, mult_arity if self.mult_arities is None else 2,
                                first_init, state_id, round)

    @staticmethod
    def _check_vars(names: Sequence[str] | None, n: int, what: str) -> list[str] | None:
        if names is None:
            return None
        names = [str(v) for v in names]
        if len(names) != n:
            raise ValueError(f"{what} has {len(names)} names but the model has {n}")
        return names

    # ------------------------------------------------------------ properties
    @property
    def width(self) -> list[int]:
        """Nodes per level (additive + multiplicative)."""
        if self.mult_arities is None:
            return [self.layers[0].in_dim] + [layer.out_dim for layer in self.layers]
        return [layer.in_dim for layer in self.layers] + [self.layers[-1].out_dim - self._extra(self.depth)]

    def _extra(self, level: int) -> int:
        arities = self.mult_arities[level] if self.mult_arities is not None else ()
        return sum(arities) - len(arities)

    @property
    def width_in(self) -> list[int]:
        """pykan's name: nodes per level (the same as width)."""
        return self.width

    @property
    def width_out(self) -> list[int]:
        """pykan's name: subnodes per level (the outputs of the layer feeding it; inputs for level 0)."""
        return [self.layers[0].in_dim] + [layer.out_dim for layer in self.layers]

    @property
    def mult_nodes(self) -> list[int]:
        """Multiplication nodes per level (they are the last nodes of their level)."""
        return [len(a) for a in self.mult_arities] if self.mult_arities is not None else [0] * (self.depth + 1)

    @property
    def mult_arity(self) -> list[list[int]]:
        """Per level: the arity of each multiplication node (pykan's list form)."""
        return [list(a) for a in self.mult_arities] if self.mult_arities is not None else [[]] * (self.depth + 1)

    @property
    def width_pykan(self) -> list[list[int]]:
        """pykan's [[n_add, n_mult], ...] form of the width."""
        return mult_nodes.pykan_width(self.width, self.mult_arity)

    def combine_level(self, level: int, subnodes: Tensor) -> Tensor:
        """A level's node values from the outputs of the layer feeding it (products for multiplication nodes)."""
        if self.mult_arities is None or not self.mult_arities[level]:
            return subnodes
        return mult_nodes.combine(subnodes, self.mult_arities[level])

    @property
    def grid(self) -> int:
        return self.layers[0].num

    @property
    def k(self) -> int:
        return self.layers[0].k

    @property
    def depth(self) -> int:
        return len(self.layers)

    @property
    def dtype(self) -> torch.dtype:
        return self.layers[0].coef.dtype

    @property
    def device(self) -> torch.device:
        return self.layers[0].coef.device

    def extra_repr(self) -> str:
        return f"width={self.width}, grid={self.grid}, k={self.k}"

    # --------------------------------------------------------------- forward
    def check_input(self, x: Any, what: str = "x") -> Tensor:
        """Validate and convert x to a finite (N, width[0]) tensor of the model's dtype and device.

        Accepts tensors and array-likes (lists, numpy arrays of any int/float dtype); 1-D inputs are
        one sample per entry when width[0] == 1. Errors name `what`.
        """
        if not isinstance(x, Tensor):
            if isinstance(x, (str, bytes)) or not isinstance(x, (Sequence, np.ndarray, numbers.Real)):
                raise TypeError(f"{what} must be a tensor or an array of numbers, got {type(x).__name__}")
            try:
                x = torch.as_tensor(np.asarray(x, dtype=np.float64) if not isinstance(x, np.ndarray) else x)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"{what} must be a tensor or an array of numbers ({exc})") from None
        if x.dtype == torch.bool or x.is_complex():
            raise TypeError(f"{what} must hold real numbers, got dtype {x.dtype}")
        if x.dim() == 1 and self.width[0] == 1:
            x = x[:, None]
        if x.dim() != 2 or x.shape[1] != self.width[0]:
            raise ValueError(f"{what} must have shape (N, {self.width[0]}) for width {self.width}, got {tuple(x.shape)}")
        x = x.to(device=self.device, dtype=self.dtype)
        self._check_rows(x, what)
        return x

    def _check_rows(self, x: Tensor, what: str) -> None:
        """Refuse batches with non-finite rows or too big to evaluate. Cheap: a sum is finite only
        if every value is (a finite sum that overflows just takes the exact path)."""
        if x.shape[0] * self._row_bytes > limits.MEMORY_LIMIT_BYTES:
            limits.check_batch_size(x.shape[0], self._row_bytes, what)
        if not math.isfinite(x.sum().item()) and not bool(torch.isfinite(x).all()):
            raise ValueError(f"{what} has non-finite values (NaN or inf) in {model_args.non_finite_rows(x)}")

    def forward(self, x: Tensor) -> Tensor:
        first = self.layers[0]
        coef = first.coef
        if not isinstance(x, Tensor) or x.dim() != 2 or x.shape[1] != first.in_dim or x.dtype != coef.dtype \
                or x.device != coef.device:
            x = self.check_input(x)
        else:
            self._check_rows(x, "x")
        if self.mult_arities is not None:
            for l, layer in enumerate(self.layers):
                x = self.combine_level(l + 1, layer(x))
            return x
        for layer in self.layers:
            x = layer(x)
        return x

    def layer_inputs(self, x: Tensor) -> list[Tensor]:
        """Inputs of every layer plus the final output: depth + 1 tensors (no grad)."""
        x = self.check_input(x)
        outs = [x]
        with torch.no_grad():
            for l, layer in enumerate(self.layers):
                outs.append(self.combine_level(l + 1, layer(outs[-1])))
        return outs

    def update_grid_from_samples(self, x: Tensor) -> None:
        """Adapt every layer's grid to the samples' distribution, layer by layer, keeping the functions."""
        with self.lineage.guard("update the grid"):
            x = self.check_input(x)
            with torch.no_grad():
                for l, layer in enumerate(self.layers):
                    layer.update_grid_from_samples(x)
                    x = self.combine_level(l + 1, layer(x))
            self.lineage.emit("grid_update", self)

    # ---------------------------------------------------------------- events
    def on(self, event: str, fn: Callable[..., Any]) -> None:
        """Subscribe to model events (fit_start, step, fit_end, grid_update, structure, version, progress)."""
        self.lineage.on(event, fn)

    def off(self, event: str, fn: Callable[..., Any]) -> None:
        self.lineage.off(event, fn)

    def stop_training(self) -> bool:
        """Stop the running fit or long operation of this lineage (from any thread).

        A fit restores its last completed step and returns; a long operation raises OperationCancelled
        and leaves the model as before. Returns False (and does nothing) when nothing runs.
        """
        return self.lineage.cancel()

    # -------------------------------------------------------- snapshot state
    def snapshot(self) -> ModelState:
        """A frozen, detached record of everything needed to rebuild this model exactly."""
        return ModelState.of(self)

    @classmethod
    def from_snapshot(cls, state: ModelState | dict[str, Any], lineage: Lineage | None = None,
                      device: torch.device | str | None = None) -> "KAN":
        """Rebuild a model from a ModelState (or its to_dict() form); shares `lineage` if given."""
        if not isinstance(state, ModelState):
            state = ModelState.from_dict(state)
        if state.dtype not in limits.FLOAT_DTYPES:
            raise ValueError(f"unsupported dtype {state.dtype!r} in model state; valid: {', '.join(limits.FLOAT_DTYPES)}")
        dtype = limits.FLOAT_DTYPES[state.dtype]
        model = cls(**state.config_dict(), dtype=dtype, device=device or "cpu",
                    in_vars=state.in_vars, out_vars=state.out_vars)
        # the grid size of a refined model differs from the config's; rebuild layers to match the state
        for l, layer in enumerate(model.layers):
            coef = state.tensors[f"layers.{l}.coef"]
            if coef.shape[-1] != layer.coef.shape[-1]:
                model.layers[l] = KANLayer(layer.in_dim, layer.out_dim, grid=coef.shape[-1] - layer.k, k=layer.k,
                                           grid_eps=layer.grid_eps, base_fun=layer.base_fun,
                                           generator=torch.Generator().manual_seed(0), dtype=dtype,
                                           device=layer.coef.device)
        for l, names in enumerate(state.sym_names):
            model.layers[l].sym_names = list(names)
        model.load_state_dict(state.tensors.as_dict())
        model.steps_trained = state.steps_trained
        if lineage is not None:
            model.lineage = lineage
        return model

    def derive(self, state: ModelState | None = None) -> "KAN":
        """A new model in the same lineage from a state (default: a copy of this one)."""
        model = type(self).from_snapshot(state or self.snapshot(), lineage=self.lineage, device=self.device)
        model.data = self.data
        model.fit_generator.set_state(self.fit_generator.get_state())
        return model

    def record_version(self, label: str, metrics: dict[str, float] | None = None) -> Version:
        """Record the current state as a new version in the lineage's history (prefer lineage.change)."""
        with self.lineage.guard("record a version"):
            return self.lineage.record_state(label, metrics or {}, self)

    @property
    def history(self) -> list[Version]:
        """Versions recorded so far in this model's lineage (oldest first)."""
        return list(self.lineage.versions)

    def checkout(self, version: int | Version) -> "KAN":
        """Return a model restored exactly to a recorded version (same lineage)."""
        with self.lineage.guard("checkout"):
            vid = version.id if isinstance(version, Version) else version
            if isinstance(vid, bool) or not isinstance(vid, numbers.Integral):
                raise TypeError(f"version must be an int id or a Version, got {version!r}")
            target = self.lineage.get(int(vid))
            model = self.derive(target.snapshot)
            self.lineage.current = target.id
            self.lineage.losses.restore(target.id, model.steps_trained)   # the loss curve of that version
            self.lineage.emit("structure", model, "checkout")
            return model

    def undo(self) -> "KAN":
        """Return the model as it was at the version before the current one."""
        with self.lineage.guard("undo"):
            current = self.lineage.current
            if current is None:
                raise ValueError("nothing to undo: no version has been recorded yet")
            parent = self.lineage.get(current).parent
            if parent is None:
                raise ValueError("nothing to undo: the current version is the first one")
            return self.checkout(parent)

    # ----------------------------------------------------------- view data
    def edge_masks(self) -> list[Tensor]:
        """Active edges per layer, (I, O) bool."""
        return [layer.mask > 0 for layer in self.layers]

    def symbolic_names(self) -> list[list[list[str | None]]]:
        """[l][i][j]: the library function of each symbolic edge, None for splines."""
        out = []
        for layer in self.layers:
            sym = (layer.sym_mask > 0).cpu().tolist()
            ids = layer.sym_fun_ids.cpu().tolist()
            out.append([[layer.sym_names[ids[i][j]] if sym[i][j] else None for j in range(layer.out_dim)]
                        for i in range(layer.in_dim)])
        return out

    def input_ranges(self, x: Tensor | None = None) -> list[Tensor]:
        """Per layer (I, 2): the range of each edge's input on x (default: the data), else the grid range."""
        if x is None and self.data is not None:
            x = self.data["train_input"]
        if x is not None:
            inputs = self.layer_inputs(x)[:-1]
            ranges = [torch.stack([x.min(0).values, x.max(0).values], dim=1) for x in inputs]
        else:
            ranges = [torch.stack([layer.grid_points()[:, 0], layer.grid_points()[:, -1]], dim=1)
                      for layer in self.layers]
        for r in ranges:  # a constant input still gets a visible interval
            flat = (r[:, 1] - r[:, 0]) < 1e-9
            r[flat, 0] -= 0.5
            r[flat, 1] += 0.5
        return ranges

    def edge_curves(self, num: int = 64, x: Tensor | None = None) -> list[tuple[Tensor, Tensor]]:
        """Per layer: xs (I, num) over each input's range (see input_ranges) and ys (I, O, num) = phi there."""
        out = []
        with torch.no_grad():
            for layer, r in zip(self.layers, self.input_ranges(x)):
                steps = torch.linspace(0, 1, num, dtype=self.dtype, device=self.device)
                xs = r[:, :1] + steps[None, :] * (r[:, 1:] - r[:, :1])           # (I, num)
                ys = layer.edge_activations(xs.T.contiguous()).permute(1, 2, 0)   # (I, O, num)
                out.append((xs, ys))
        return out

    # ---------------------------------------------------- methods elsewhere
    fit = training.fit
    attribute = simplify.attribute
    attribution = simplify.attribution
    prune = simplify.prune
    prune_node = simplify.prune_node
    prune_edge = simplify.prune_edge
    prune_input = simplify.prune_input
    refine = simplify.refine
    suggest_symbolic = symbolic_edges.suggest_symbolic
    symbolic_candidates = symbolic_edges.symbolic_candidates
    fix_symbolic = symbolic_edges.fix_symbolic
    unfix_symbolic = symbolic_edges.unfix_symbolic
    auto_symbolic = symbolic_edges.auto_symbolic
    symbolic_formula = formula.symbolic_formula
    plot = plot_module.plot
    save = persistence.save
    load = classmethod(persistence.load)
    from_pykan = classmethod(pykan_import.from_pykan)
    saveckpt = checkpoints.saveckpt
    loadckpt = classmethod(checkpoints.loadckpt)
    act_fun = property(lambda self: self.layers, doc="pykan's name for the layers (coef, grid, scale_base, ...)")
    discover = discover_module.discover
    snap_symbolic = snapping.snap_symbolic
    clean_formula = tidy_ops.clean_formula
    # editing the shape (operations/reshape.py): each a new model, one version
    add_node, delete_node, regrid = reshape.add_node, reshape.delete_node, reshape.regrid
    add_layer, delete_layer, reinit = reshape.add_layer, reshape.delete_layer, reshape.reinit

    # pykan's names (operations/pykan_api.py)
    get_act, get_fun, get_range = pykan_api.get_act, pykan_api.get_fun, pykan_api.get_range
    set_mode, remove_edge, remove_node = pykan_api.set_mode, pykan_api.remove_edge, pykan_api.remove_node
    rewind, speed = pykan_api.rewind, pykan_api.speed
    symbolic_fun = property(pykan_api.symbolic_fun, doc="pykan's symbolic layers: funs_name, mask, affine (O, I)")
