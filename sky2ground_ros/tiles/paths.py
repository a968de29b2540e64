"""The tile/cache root as a security boundary.

Every file the tile service reads or writes is named by `path_inside`: components must be
plain names (no separators, no '.'/'..', no NUL), and the joined path, with every symlink
resolved, must still lie inside the resolved root. Refusals raise `UnsafePathError`.
"""

from __future__ import annotations

import re
from pathlib import Path

from sky2ground_ros.tiles.tile import UnsafePathError

_COMPONENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def resolve_root(root: str | Path, create: bool = False) -> Path:
    """The absolute, symlink-free path of an existing (or newly created) directory."""
    path = Path(root).expanduser()
    if create:
        path.mkdir(parents=True, exist_ok=True)
    resolved = path.resolve(strict=True)
    if not resolved.is_dir():
        raise NotADirectoryError(f"tile root {root} is not a directory")
    return resolved


def path_inside(root: Path, *components: str) -> Path:
    """``root / components...`` resolved, refusing anything that would leave ``root``."""
    for part in components:
        if not _COMPONENT.fullmatch(part) or ".." in part:
            raise UnsafePathError(f"refusing path component {part!r}")
    candidate = root.joinpath(*components).resolve(strict=False)
    if not candidate.is_relative_to(root):
        raise UnsafePathError(f"refusing {'/'.join(components)!r}: it resolves outside {root}")
    return candidate
