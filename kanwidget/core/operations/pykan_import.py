"""Converting a pykan model (`kan.MultKAN`, pykan 0.2.x) into a kanwidget KAN, exactly.

pykan computes, per layer l and output node j (no multiplication nodes):

    y_j = node_scale_j * (subnode_scale_j * sum_i e_ij(x_i) + subnode_bias_j) + node_bias_j
    e_ij = mask_n_ij * (scale_base_ij * base(x_i) + scale_sp_ij * spline_ij(x_i))
           + mask_s_ji * (c * f_ji(a * x_i + b) + d)          (symbolic part only when symbolic_enabled)

kanwidget's edge is mask * ((1 - s) * numeric + s * symbolic) and node j adds a `bias`, so with
g_j = node_scale_j * subnode_scale_j the scales fold exactly into the edges (scale_base, scale_sp,
c and d times g_j) and bias_j = node_scale_j * subnode_bias_j + node_bias_j. An edge that is both
numeric and symbolic (pykan's "sn" mode) has no kanwidget form and is refused.

Multiplication nodes: node t of a level with n_add additive nodes is node_scale_t * prod_k(subnode_k) + node_bias_t
over its subnodes (each subnode_scale * sum + subnode_bias). Subnode affines fold as above; node_scale_t folds
into its first subnode; a non-zero node_bias_t on a multiplication node has no kanwidget form and is refused.

The conversion works on plain data (`PykanParts`), taken from a live module (`parts_of_module`) or from
a checkpoint (`checkpoints.py`); pykan itself is never imported here.
"""
from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import torch
from torch import Tensor

from kanwidget.core.checks import check_int
from kanwidget.core.network import limits, mult_nodes
from kanwidget.core.numerics.symbolic import SYMBOLIC_LIB

if TYPE_CHECKING:
    from kanwidget.core.network.model import KAN

BASE_FUNS = ("silu", "identity", "zero")
LAYER_KEYS = ("act_fun.{l}.grid", "act_fun.{l}.coef", "act_fun.{l}.mask", "act_fun.{l}.scale_base",
              "act_fun.{l}.scale_sp", "symbolic_fun.{l}.mask", "symbolic_fun.{l}.affine", "node_bias_{l}",
              "node_scale_{l}", "subnode_bias_{l}", "subnode_scale_{l}")


@dataclass
class PykanParts:
    """What a pykan model is made of, as plain data (a live module's or a checkpoint's)."""

    width: list[Any]                        # [[n_add, n_mult], ...] (or plain ints)
    k: Any
    base_fun: Any                           # pykan's base_fun_name
    funs_name: list[Any]                    # per layer, [out][in] symbolic function names
    state: Mapping[str, Any]                # pykan's state_dict
    symbolic_enabled: bool = True
    grid_eps: Any = 0.02
    grid_range: Any = (-1.0, 1.0)
    input_id: list[int] | None = None
    funs: list[Any] | None = None           # per layer, [out][in] torch functions (live modules only)
    mult_arity: Any = 2                     # pykan's mult_arity: an int or per-level lists
    source: str = "the pykan model"
    notes: list[str] = field(default_factory=list)


def from_pykan(cls: type["KAN"], model: Any, in_vars: Sequence[str] | None = None,
               out_vars: Sequence[str] | None = None) -> "KAN":
    """A kanwidget KAN computing exactly what the pykan model `model` (a trained `kan.MultKAN`) computes.

    Copies grids, coefficients, base/spline scales, masks, symbolic edges (function and affine a, b, c, d)
    and folds pykan's node/subnode scales and biases into the edges and node biases. Raises TypeError for
    something that is not a pykan model and ValueError for what has no exact kanwidget form
    (multiplication nodes, edges both numeric and symbolic, unknown functions). pykan is not imported.
    """
    parts = parts_of_module(model)
    return kan_from_parts(cls, parts, in_vars=in_vars, out_vars=out_vars)


def is_pykan_model(model: Any) -> bool:
    """Whether `model` looks like a pykan MultKAN (duck-typed: act_fun, symbolic_fun, node and subnode
    scales, state_dict) and is not a kanwidget KAN."""
    from kanwidget.core.network.model import KAN

    return not isinstance(model, KAN) and all(
        hasattr(model, name) for name in ("act_fun", "symbolic_fun", "width", "node_scale", "subnode_scale",
                                          "state_dict"))


def parts_of_module(model: Any) -> PykanParts:
    """Read a live pykan model's parts (state_dict, function names, options) without changing it."""
    if not is_pykan_model(model):
        raise TypeError(f"model must be a pykan MultKAN (kan.KAN), got {type(model).__name__}")
    try:
        state = {name: t.detach() for name, t in model.state_dict().items()}
        layers = list(model.symbolic_fun)
        funs_name = [[list(row) for row in layer.funs_name] for layer in layers]
        funs = [[list(row) for row in layer.funs] for layer in layers]
    except (AttributeError, TypeError) as exc:
        raise TypeError(f"model does not look like a pykan MultKAN ({type(exc).__name__}: {exc})") from None
    input_id = getattr(model, "input_id", None)
    return PykanParts(width=_plain(model.width), k=getattr(model, "k", None),
                      base_fun=_base_fun_name(getattr(model, "base_fun_name", "silu")), funs_name=funs_name,
                      state=state,
                      symbolic_enabled=bool(getattr(model, "symbolic_enabled", True)),
                      grid_eps=getattr(model, "grid_eps", 0.02), grid_range=getattr(model, "grid_range", (-1, 1)),
                      input_id=None if input_id is None else [int(i) for i in torch.as_tensor(input_id).tolist()],
                      funs=funs, mult_arity=_plain(getattr(model, "mult_arity", 2)))


def _base_fun_name(fn: Any) -> Any:
    """pykan's base_fun_name, or the name of the built-in base a callable computes (pykan's prune_input
    passes the function itself, e.g. torch.nn.SiLU()); anything else is returned for the caller to refuse."""
    if isinstance(fn, str) or not callable(fn):
        return fn
    from kanwidget.core.network.model import BASE_FUNCTIONS

    probe = torch.linspace(-4.0, 4.0, 33, dtype=torch.float64)
    try:
        values = torch.as_tensor(fn(probe.clone()), dtype=torch.float64)
    except Exception:  # noqa: BLE001 - a user's base function may raise anything
        return fn
    for name in BASE_FUNS:
        if values.shape == probe.shape and torch.allclose(values, BASE_FUNCTIONS[name](probe), rtol=1e-12, atol=0):
            return name
    return fn


def _plain(value: Any) -> Any:
    """Nested lists of Python/numpy ints as plain lists (pykan's width may hold numpy ints)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# ------------------------------------------------------------------ parts -> KAN
def layer_sizes(width: Any, where: str = "width") -> list[int]:
    """pykan's width ([[n_add, n_mult], ...] or ints) as plain layer sizes; refuses multiplication nodes."""
    if not isinstance(width, (list, tuple)) or not 2 <= len(width) <= limits.MAX_LAYERS + 1:
        raise ValueError(f"{where} must be a list of 2 to {limits.MAX_LAYERS + 1} layer sizes, got {width!r:.80}")
    sizes, mult = [], []
    for n, entry in enumerate(width):
        if isinstance(entry, (list, tuple)):
            if len(entry) != 2:
                raise ValueError(f"{where}[{n}] must be [n_add, n_mult], got {entry!r:.80}")
            n_add, n_mult = entry
        else:
            n_add, n_mult = entry, 0
        sizes.append(check_int(f"{where}[{n}]", n_add, 1))
        mult.append(check_int(f"{where}[{n}] (multiplication nodes)", n_mult, 0))
    if any(mult):
        raise ValueError(f"{where} {width!r:.120} has multiplication nodes; kanwidget's KAN has no multiplication "
                         "nodes yet, so this model cannot be converted exactly")
    return sizes


def mult_layout(parts: PykanParts) -> tuple[list[int], list[tuple[int, ...]]]:
    """(nodes per level, multiplication nodes' arities per level) of a pykan model's width and mult_arity."""
    width = parts.width
    if not isinstance(width, (list, tuple)) or not 2 <= len(width) <= limits.MAX_LAYERS + 1:
        raise ValueError(f"{parts.source}'s width must be a list of 2 to {limits.MAX_LAYERS + 1} layer sizes, "
                         f"got {width!r:.80}")
    try:
        return mult_nodes.parse_width(width, parts.mult_arity)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{parts.source}: {exc}") from None


def kan_from_parts(cls: type["KAN"], parts: PykanParts, in_vars: Sequence[str] | None = None,
                   out_vars: Sequence[str] | None = None) -> "KAN":
    """Check `parts` against its own header (sizes, shapes, dtypes, names), then build the KAN."""
    if not any(isinstance(e, (list, tuple)) and len(e) == 2 and e[1] for e in parts.width or []):
        sizes, arities = layer_sizes(parts.width, f"{parts.source}'s width"), None
    else:
        sizes, arities = mult_layout(parts)
    k = _single_k(parts.k, len(sizes) - 1, parts.source)
    base_fun = parts.base_fun
    if not isinstance(base_fun, str) or base_fun not in BASE_FUNS:
        raise ValueError(f"{parts.source} uses base_fun {base_fun!r:.60}; only {', '.join(BASE_FUNS)} convert")
    arities = arities or [()] * len(sizes)
    state = _checked_state(parts.state, sizes, k, parts.source, arities)
    dtype = state["act_fun.0.coef"].dtype
    layers = [_convert_layer(parts, state, l, dtype, sizes[l + 1], arities[l + 1]) for l in range(len(sizes) - 1)]
    return _build(cls, parts, sizes, k, dtype, layers, in_vars, out_vars, arities)


def _single_k(k: Any, depth: int, source: str) -> int:
    if isinstance(k, (list, tuple)):
        if len(set(k)) != 1 or len(k) != depth:
            raise ValueError(f"{source} uses a different spline order k per layer ({k!r:.60}); kanwidget needs one k")
        k = k[0]
    return check_int(f"{source}'s k", k, 1, limits.MAX_K)


def _checked_state(state: Any, sizes: list[int], k: int, source: str,
                   arities: Sequence[tuple[int, ...]] | None = None) -> dict[str, Tensor]:
    """The state's tensors after checking names, shapes, dtypes and values against sizes and k."""
    if not isinstance(state, Mapping) or not all(isinstance(t, Tensor) for t in state.values()):
        raise ValueError(f"{source}'s state must map names to tensors")
    expected = [key.format(l=l) for l in range(len(sizes) - 1) for key in LAYER_KEYS]
    missing = [key for key in expected if key not in state]
    unknown = sorted(str(key) for key in set(state) - set(expected))
    if missing or unknown:
        problems = [part for part in (_listed("missing", missing), _listed("unknown", unknown)) if part]
        raise ValueError(f"{source}'s state does not match width {sizes}: {'; '.join(problems)}")
    grids = []
    for l in range(len(sizes) - 1):
        coef = state[f"act_fun.{l}.coef"]
        if coef.dim() != 3:
            raise ValueError(f"{source}: act_fun.{l}.coef must be 3-D, got shape {tuple(coef.shape)}")
        grids.append(check_int(f"{source}: act_fun.{l}.coef's grid size", coef.shape[-1] - k, 1, limits.MAX_GRID))
    dtype = state["act_fun.0.coef"].dtype
    if dtype not in limits.FLOAT_DTYPES.values():
        raise ValueError(f"{source}: act_fun.0.coef has dtype {dtype}; valid: {', '.join(limits.FLOAT_DTYPES)}")
    limits.check_model_size(sizes, max(grids), k, dtype)
    out: dict[str, Tensor] = {}
    outs = [mult_nodes.subnode_count(n, a) for n, a in zip(sizes, arities or [()] * len(sizes))]
    for l, grid in enumerate(grids):
        n_in, n_out, n_node = sizes[l], outs[l + 1], sizes[l + 1]
        shapes = {"act_fun.{l}.grid": (n_in, grid + 2 * k + 1), "act_fun.{l}.coef": (n_in, n_out, grid + k),
                  "act_fun.{l}.mask": (n_in, n_out), "act_fun.{l}.scale_base": (n_in, n_out),
                  "act_fun.{l}.scale_sp": (n_in, n_out), "symbolic_fun.{l}.mask": (n_out, n_in),
                  "symbolic_fun.{l}.affine": (n_out, n_in, 4), "node_bias_{l}": (n_node,), "node_scale_{l}": (n_node,),
                  "subnode_bias_{l}": (n_out,), "subnode_scale_{l}": (n_out,)}
        for key, shape in shapes.items():
            name = key.format(l=l)
            t = state[name]
            if tuple(t.shape) != shape:
                raise ValueError(f"{source}: {name} has shape {tuple(t.shape)}, width {sizes} with grid {grid} "
                                 f"and k={k} implies {shape}")
            if not t.is_floating_point():
                raise ValueError(f"{source}: {name} has dtype {t.dtype}, expected a floating dtype")
            if not bool(torch.isfinite(t).all()):
                raise ValueError(f"{source}: {name} holds NaN or inf values")
            out[name] = t.detach().to(device="cpu", dtype=dtype)
    return out


def _listed(what: str, names: list[str]) -> str:
    if not names:
        return ""
    return f"{what} {', '.join(names[:5])}{f' and {len(names) - 5} more' if len(names) > 5 else ''}"


def _node_affine(state: dict[str, Tensor], l: int, n_node: int, arities: tuple[int, ...], source: str
                 ) -> tuple[Tensor, Tensor]:
    """Per subnode: the node scale and bias that fold into it (a product's scale into its first factor)."""
    scale, bias = state[f"node_scale_{l}"], state[f"node_bias_{l}"]
    if not arities:
        return scale, bias
    n_add = n_node - len(arities)
    bad = torch.nonzero(bias[n_add:] != 0).flatten().tolist()
    if bad:
        raise ValueError(f"{source}: multiplication node(s) {[n_add + t for t in bad]} of level {l + 1} have a "
                         "non-zero node_bias, which has no kanwidget form")
    owner = mult_nodes.owners(n_node, arities)
    first = [s == 0 or owner[s] != owner[s - 1] or owner[s] < n_add for s in range(len(owner))]
    index = torch.as_tensor(owner)
    sub_scale = torch.where(torch.as_tensor(first), scale[index], torch.ones_like(scale[index]))
    sub_bias = torch.where(index < n_add, bias[index], torch.zeros_like(bias[index]))
    return sub_scale, sub_bias


def _convert_layer(parts: PykanParts, state: dict[str, Tensor], l: int, dtype: torch.dtype,
                   n_node: int | None = None, arities: tuple[int, ...] = ()) -> dict[str, Any]:
    """One pykan layer as kanwidget layer tensors + symbolic names (see the module docstring)."""
    node_scale, node_bias = _node_affine(state, l, n_node or 0, arities, parts.source)
    mask_n = state[f"act_fun.{l}.mask"]
    mask_s = state[f"symbolic_fun.{l}.mask"].t() if parts.symbolic_enabled else torch.zeros_like(mask_n)
    sym = mask_s != 0
    both = torch.nonzero(sym & (mask_n != 0)).tolist()
    if both:
        edges = ", ".join(f"({l}, {i}, {j})" for i, j in both[:5])
        raise ValueError(f"{parts.source} has edge(s) {edges} that are both spline and symbolic (pykan's 'sn' "
                         "mode); a kanwidget edge is one or the other: fix_symbolic or unfix_symbolic them first")
    gain = node_scale * state[f"subnode_scale_{l}"]                          # (O,)
    affine = state[f"symbolic_fun.{l}.affine"].permute(1, 0, 2).clone()      # (I, O, 4)
    affine[..., 2] *= gain
    affine[..., 3] *= gain
    names, ids = _symbolic_names(parts, l, sym)
    default = torch.tensor([1.0, 0.0, 1.0, 0.0], dtype=dtype)
    affine = torch.where(sym[..., None], affine, default)
    return {"grid": state[f"act_fun.{l}.grid"].clone(), "coef": state[f"act_fun.{l}.coef"].clone(),
            "scale_base": state[f"act_fun.{l}.scale_base"] * gain, "scale_sp": state[f"act_fun.{l}.scale_sp"] * gain,
            "mask": torch.where(sym, mask_s, mask_n), "sym_mask": sym.to(dtype), "sym_fun_ids": ids,
            "sym_affine": affine,
            "bias": node_scale * state[f"subnode_bias_{l}"] + node_bias,
            "sym_names": names}


def _symbolic_names(parts: PykanParts, l: int, sym: Tensor) -> tuple[list[str], Tensor]:
    """The layer's symbolic function names (kanwidget library keys) and per-edge ids into them."""
    ids = torch.zeros(sym.shape, dtype=torch.long)
    names: list[str] = []
    table = parts.funs_name[l] if l < len(parts.funs_name) else None
    for i, j in torch.nonzero(sym).tolist():
        try:
            name = table[j][i]
        except (TypeError, IndexError, KeyError):
            raise ValueError(f"{parts.source} has no symbolic function name for edge ({l}, {i}, {j})") from None
        if not isinstance(name, str) or name not in SYMBOLIC_LIB:
            raise ValueError(f"{parts.source}'s edge ({l}, {i}, {j}) uses symbolic function {name!r:.60}, which "
                             "kanwidget does not know; register it with kanwidget.add_symbolic(name, torch_fn, "
                             "sympy_fn, complexity) first")
        if parts.funs is not None:
            _check_same_function(parts.funs[l][j][i], name, (l, i, j), parts.source)
        if name not in names:
            names.append(name)
        ids[i, j] = names.index(name)
    return names, ids


_PROBE = torch.linspace(0.05, 0.95, 19, dtype=torch.float64)   # inside every built-in's domain


def _check_same_function(fn: Any, name: str, edge: tuple[int, int, int], source: str) -> None:
    """Refuse an edge whose pykan function disagrees with kanwidget's function of the same name."""
    try:
        theirs = torch.as_tensor(fn(_PROBE.clone()), dtype=torch.float64)
    except Exception as exc:  # noqa: BLE001 - a user's function may raise anything
        raise ValueError(f"{source}'s edge {edge}: its function {name!r} could not be evaluated "
                         f"({type(exc).__name__}: {exc})") from None
    ours = SYMBOLIC_LIB[name].torch_fn(_PROBE.clone())
    ok = torch.isfinite(theirs) & torch.isfinite(ours)
    if theirs.shape != ours.shape or not torch.allclose(theirs[ok], ours[ok], rtol=1e-9, atol=1e-12):
        raise ValueError(f"{source}'s edge {edge}: its function {name!r} is not kanwidget's {name!r} "
                         "(they differ on (0, 1)); register the same function in kanwidget under another name")


def _build(cls: type["KAN"], parts: PykanParts, sizes: list[int], k: int, dtype: torch.dtype,
           layers: list[dict[str, Any]], in_vars: Sequence[str] | None, out_vars: Sequence[str] | None,
           arities: Sequence[tuple[int, ...]] = ()) -> "KAN":
    from kanwidget.core.operations.persistence import check_snapshot

    grid_range = [float(v) for v in parts.grid_range] if _is_range(parts.grid_range) else [-1.0, 1.0]
    grid_eps = float(parts.grid_eps) if isinstance(parts.grid_eps, numbers.Real) and 0 <= parts.grid_eps <= 1 \
        else 0.02
    state = {f"layers.{l}.{name}": value for l, layer in enumerate(layers)
             for name, value in layer.items() if name != "sym_names"}
    snap = {"config": {"width": sizes, "grid": layers[0]["coef"].shape[-1] - k, "k": k, "grid_eps": grid_eps,
                       "grid_range": grid_range, "base_fun": parts.base_fun,
                       **({"mult_arity": [list(a) for a in arities]} if any(arities) else {})},
            "width": sizes, "dtype": str(dtype).replace("torch.", ""), "state": state,
            "sym_names": [layer["sym_names"] for layer in layers],
            "in_vars": _names(in_vars, "in_vars", sizes[0]), "out_vars": _names(out_vars, "out_vars", sizes[-1]),
            "steps_trained": 0}
    check_snapshot(snap)
    model = cls.from_snapshot(snap)
    if parts.input_id is not None and parts.input_id != list(range(sizes[0])):
        warnings.warn(f"{parts.source} was made by prune_input and reads columns {parts.input_id} of its input; "
                      f"the converted KAN takes those {sizes[0]} columns only (x[:, {parts.input_id}])",
                      UserWarning, stacklevel=3)
    with model.lineage.change(model, f"from pykan ({parts.source})"):
        pass  # the converted state is the first version of a new lineage
    return model


def _is_range(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and len(value) == 2 and all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value) and value[0] < value[1]


def _names(names: Sequence[str] | None, what: str, n: int) -> list[str] | None:
    if names is None:
        return None
    if isinstance(names, (str, bytes)) or not isinstance(names, Sequence):
        raise TypeError(f"{what} must be a list of names, got {names!r:.60}")
    if len(names) != n:
        raise ValueError(f"{what} has {len(names)} names but the model has {n}")
    return [str(v) for v in names]
