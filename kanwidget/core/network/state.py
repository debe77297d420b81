"""Model state, frozen and compact (ModelState), and exact in-place restore points (RestorePoint).

A ModelState is what a version keeps: its tensors live as slices of a few flat buffers (one per
dtype among the tensors that changed), and tensors equal to those of the previous state are shared
with it instead of copied, so a version that changed one tensor costs about that tensor.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

import torch
from torch import Tensor

if TYPE_CHECKING:
    from kanwidget.core.network.layer import KANLayer
    from kanwidget.core.network.model import KAN

__all__ = ["TensorTable", "ModelState", "RestorePoint"]


@dataclass(frozen=True)
class TensorTable:
    """Named tensors stored as (buffer, offset, shape) slices of flat buffers; read them with [] or items()."""
    names: tuple[str, ...]
    entries: tuple[tuple[int, int, tuple[int, ...]], ...]   # per name: buffer index, offset, shape
    buffers: tuple[Tensor, ...] = field(repr=False)

    @classmethod
    def pack(cls, tensors: Mapping[str, Tensor], previous: "TensorTable | None" = None) -> "TensorTable":
        """Detached copies of `tensors`; those equal (same dtype, shape, values) to `previous`'s are shared,
        and so are the table's tuples where nothing moved (a version costs what changed)."""
        names = tuple(tensors)
        old = {name: k for k, name in enumerate(previous.names)} if previous is not None else {}
        shared: dict[str, int] = {}          # name -> index of its entry in previous
        fresh: dict[tuple[torch.dtype, torch.device], list[tuple[int, Tensor]]] = {}
        for pos, (name, t) in enumerate(tensors.items()):
            t = t.detach()
            k = old.get(name)
            if k is not None:
                view = previous.view(k)  # type: ignore[union-attr]
                if view.dtype == t.dtype and view.device == t.device and view.shape == t.shape \
                        and torch.equal(view, t):
                    shared[name] = k
                    continue
            fresh.setdefault((t.dtype, t.device), []).append((pos, t))
        buffers: list[Tensor] = []
        remap: dict[int, int] = {}
        if previous is not None:             # keep previous buffers still referenced, in their order
            used = {previous.entries[k][0] for k in shared.values()}
            for b, buf in enumerate(previous.buffers):
                if b in used:
                    remap[b] = len(buffers)
                    buffers.append(buf)
        entries: list[Any] = [None] * len(names)
        for pos, name in enumerate(names):
            k = shared.get(name)
            if k is not None:
                entry = previous.entries[k]  # type: ignore[union-attr]
                entries[pos] = entry if remap[entry[0]] == entry[0] else (remap[entry[0]], entry[1], entry[2])
        for group in fresh.values():
            flat = torch.cat([t.reshape(-1) for _, t in group]) if len(group) > 1 else group[0][1].reshape(-1).clone()
            index, offset = len(buffers), 0
            buffers.append(flat)
            for pos, t in group:
                entries[pos] = (index, offset, tuple(t.shape))
                offset += t.numel()
        if previous is not None:
            names = previous.names if previous.names == names else names
            if tuple(entries) == previous.entries:
                entries = list(previous.entries)
            if len(buffers) == len(previous.buffers) and all(a is b for a, b in zip(buffers, previous.buffers)):
                return cls(names, previous.entries, previous.buffers)
        return cls(names, tuple(entries), tuple(buffers))

    def view(self, k: int) -> Tensor:
        b, offset, shape = self.entries[k]
        n = 1
        for s in shape:
            n *= s
        return self.buffers[b][offset:offset + n].view(shape)

    def __getitem__(self, name: str) -> Tensor:
        return self.view(self.names.index(name))

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def items(self) -> Iterator[tuple[str, Tensor]]:
        """(name, tensor) pairs; the tensors are views: copy them before changing them."""
        return ((name, self.view(k)) for k, name in enumerate(self.names))

    def as_dict(self) -> dict[str, Tensor]:
        return dict(self.items())

    def nbytes(self) -> int:
        """Bytes held by this table's buffers (shared buffers included)."""
        return sum(b.untyped_storage().nbytes() for b in self.buffers)


def _freeze(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class ModelState:
    """Everything needed to rebuild a KAN exactly; immutable (see KAN.snapshot / KAN.from_snapshot)."""
    config: tuple[tuple[str, Any], ...]      # constructor arguments (width/grid follow the state's own)
    width: tuple[int, ...]
    dtype: str                               # torch dtype name, e.g. "float64"
    tensors: TensorTable                     # the model's state_dict
    sym_names: tuple[tuple[str, ...], ...]   # per layer: the library names its sym_fun_ids index
    in_vars: tuple[str, ...] | None = None
    out_vars: tuple[str, ...] | None = None
    steps_trained: int = 0

    @classmethod
    def of(cls, model: "KAN", layers: Sequence["KANLayer"] | None = None, previous: "ModelState | None" = None,
           **changes: Any) -> "ModelState":
        """The state of `model`, or of `model` with its layers replaced by `layers` (config follows them).

        Tensors and config equal to `previous`'s are shared with it.
        """
        if layers is None:
            tensors = model.state_dict()
            width = model.width
        else:
            tensors = {f"layers.{l}.{name}": t for l, layer in enumerate(layers)
                       for name, t in layer.state_dict().items()}
            width = [layers[0].in_dim] + [layer.out_dim for layer in layers]
            arities = model.config.get("mult_arity")   # multiplication nodes: a level has fewer nodes than subnodes
            if arities:
                width = [layer.in_dim for layer in layers] + [width[-1] - sum(arities[-1]) + len(arities[-1])]
        source = layers if layers is not None else model.layers
        config = dict(model.config)
        config["width"] = list(width)
        config["grid"] = source[0].num
        frozen = tuple((k, _freeze(v)) for k, v in config.items())
        if previous is not None and previous.config == frozen:
            frozen = previous.config
        values = dict(
            config=frozen, width=tuple(width), dtype=str(model.dtype).replace("torch.", ""),
            tensors=TensorTable.pack(tensors, previous.tensors if previous is not None else None),
            sym_names=tuple(tuple(layer.sym_names) for layer in source),
            in_vars=tuple(model.in_vars) if model.in_vars else None,
            out_vars=tuple(model.out_vars) if model.out_vars else None,
            steps_trained=int(model.steps_trained))
        values.update(changes)
        if values["in_vars"] is not None:
            values["in_vars"] = tuple(values["in_vars"])
        return cls(**values)

    def config_dict(self) -> dict[str, Any]:
        """A fresh, mutable copy of the constructor arguments."""
        return {k: _thaw(v) for k, v in self.config}

    def nbytes(self) -> int:
        return self.tensors.nbytes()

    def replace(self, **changes: Any) -> "ModelState":
        return replace(self, **changes)

    # ------------------------------------------------------------ file form
    def to_dict(self) -> dict[str, Any]:
        """Plain containers and tensors (the file format written by KAN.save)."""
        return {"config": self.config_dict(), "width": list(self.width), "dtype": self.dtype,
                "state": {name: t.clone() for name, t in self.tensors.items()},
                "sym_names": [list(names) for names in self.sym_names],
                "in_vars": list(self.in_vars) if self.in_vars else None,
                "out_vars": list(self.out_vars) if self.out_vars else None,
                "steps_trained": self.steps_trained}

    @classmethod
    def from_dict(cls, snap: Mapping[str, Any]) -> "ModelState":
        """Inverse of to_dict (also reads files written before ModelState existed)."""
        config = dict(snap["config"])
        config["width"] = list(snap["width"])
        state = snap["state"]
        if not isinstance(state, Mapping) or not all(isinstance(t, Tensor) for t in state.values()):
            raise ValueError("snapshot 'state' must map names to tensors")
        return cls(config=tuple((k, _freeze(v)) for k, v in config.items()), width=tuple(int(w) for w in snap["width"]),
                   dtype=str(snap["dtype"]), tensors=TensorTable.pack(state),
                   sym_names=tuple(tuple(str(n) for n in names) for names in snap["sym_names"]),
                   in_vars=tuple(snap["in_vars"]) if snap.get("in_vars") else None,
                   out_vars=tuple(snap["out_vars"]) if snap.get("out_vars") else None,
                   steps_trained=int(snap.get("steps_trained", 0)))


_MODEL_ATTRIBUTES = ("steps_trained", "data", "edge_scores", "node_scores", "feature_score", "in_vars", "out_vars")


class RestorePoint:
    """An exact, in-place restorable capture of a model: same module and tensor objects, same values.

    Used by Lineage.change: if the change fails, restore() puts back layers, parameters and buffers
    (identity and values), symbolic names, config, steps_trained, data, scores and the fit generator.
    """

    def __init__(self, model: "KAN") -> None:
        self.model = model
        self.layers = list(model.layers)
        self.slots: list[tuple[dict, str, Tensor, Tensor]] = []
        for layer in self.layers:
            for table in (layer._parameters, layer._buffers):
                for name, t in table.items():
                    if t is not None:
                        self.slots.append((table, name, t, t.detach().clone()))
        self.sym_names = [list(layer.sym_names) for layer in self.layers]
        self.config = {k: (list(v) if isinstance(v, list) else v) for k, v in model.config.items()}
        self.attributes = {name: getattr(model, name) for name in _MODEL_ATTRIBUTES}
        self.rng = model.fit_generator.get_state()

    def restore(self) -> None:
        model = self.model
        if len(model.layers) != len(self.layers) or any(a is not b for a, b in zip(model.layers, self.layers)):
            model.layers = torch.nn.ModuleList(self.layers)
        with torch.no_grad():
            for table, name, t, value in self.slots:
                table[name] = t
                if t.shape == value.shape and t.dtype == value.dtype:
                    t.copy_(value)
                else:
                    t.data = value
        for layer, names in zip(self.layers, self.sym_names):
            layer.sym_names = list(names)
            layer._group_cache = None
            layer._basis_cache = {}
        model.config = self.config
        for name, value in self.attributes.items():
            setattr(model, name, value)
        model.fit_generator.set_state(self.rng)
