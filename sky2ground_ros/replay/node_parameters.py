"""The localizer node's parameter values without a node: its defaults, a params YAML, overrides.

`localizer.parameters.NODE_PARAMETERS` is the node's single table of parameters; here it gives
the defaults, and a ROS 2 params file (``<node>: ros__parameters: {...}``, nested keys as
dotted names, as ``ros2 run ... --params-file`` reads it) overrides them, so a replay runs
with exactly the values the node would get from the same file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from sky2ground_ros.localizer.parameters import NODE_PARAMETERS, UNSET_DOUBLE_ARRAY

NODE_NAME = "sky2ground_localizer"
WILDCARD = "/**"


def node_parameters(
    params_file: str | Path | None = None, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Default values (None for unset arrays), then the file's, then ``overrides``."""
    values = {
        name: None if default is UNSET_DOUBLE_ARRAY else default
        for name, (default, _) in NODE_PARAMETERS.items()
    }
    if params_file is not None:
        values.update(read_params_file(params_file))
    values.update(overrides or {})
    return values


def read_params_file(path: str | Path, node: str = NODE_NAME) -> dict[str, Any]:
    """The node's ``ros__parameters`` (and those for ``/**``) as dotted names."""
    try:
        document = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"cannot read the parameter file {path}: {error}") from error
    if not isinstance(document, dict):
        raise ValueError(f"{path} is not a ROS 2 parameter file (no mapping at the top)")
    values: dict[str, Any] = {}
    for key in (WILDCARD, node, f"/{node}"):
        section = document.get(key)
        if isinstance(section, dict) and isinstance(section.get("ros__parameters"), dict):
            values.update(_flatten(section["ros__parameters"]))
    if not values:
        raise ValueError(f"{path} has no ros__parameters for {node}")
    return values


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat
