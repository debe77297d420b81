"""Picture files written from Python (`w.save_network`, `w.save_dataview`): the path checks and the write, once."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

#: the formats, chosen by the file's suffix
SUFFIXES = (".png", ".svg")


def picture_path(path: Any) -> Path:
    """`path` as a Path, checked before anything is drawn: a str/PathLike, a .png or .svg suffix, an existing folder."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file name (str or os.PathLike), got {type(path).__name__}")
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"path {str(target)!r}: unknown picture format {suffix or '(no suffix)'!r}; "
                         f"the path must end in {' or '.join(SUFFIXES)}")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"path {str(target)!r}: the folder {str(target.parent)!r} does not exist")
    return target


def write_figure(fig: Any, target: Path, png_dpi: int, **savefig: Any) -> Path:
    """Save a matplotlib figure to a path from `picture_path` (PNG at `png_dpi`, SVG at 72 dpi)."""
    suffix = target.suffix.lower()
    try:
        fig.savefig(os.fspath(target), format=suffix[1:], dpi=png_dpi if suffix == ".png" else 72, **savefig)
    except OSError as exc:
        raise OSError(f"path {str(target)!r}: cannot write the picture ({exc.strerror or exc})") from exc
    return target
