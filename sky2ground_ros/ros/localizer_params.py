"""rclpy side of the localizer's parameters: declare the table and read the values back.

The table itself and its conversion to pipeline settings are ROS-free
(`sky2ground_ros.localizer.parameters`).
"""

from __future__ import annotations

from typing import Any

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.exceptions import ParameterUninitializedException
from rclpy.node import Node
from rclpy.parameter import Parameter

from sky2ground_ros.localizer.parameters import (
    CAMERA_PARAMETERS,
    NODE_PARAMETERS,
    UNSET_DOUBLE_ARRAY,
    parameter_names,
)


def _declared(default: Any) -> Any:
    """The value for `declare_parameter`: an unset array is declared by its type alone."""
    return Parameter.Type.DOUBLE_ARRAY if default is UNSET_DOUBLE_ARRAY else default


def declare_parameters(node: Node) -> None:
    """Declare the node parameters, then those of every camera named in ``cameras``."""
    for name, (default, description) in NODE_PARAMETERS.items():
        node.declare_parameter(
            name, _declared(default), ParameterDescriptor(description=description)
        )
    for camera in node.get_parameter("cameras").value:
        for name, (default, description) in CAMERA_PARAMETERS.items():
            value = default.format(name=camera) if isinstance(default, str) else default
            node.declare_parameter(
                f"{camera}.{name}", _declared(value), ParameterDescriptor(description=description)
            )


def parameter_values(node: Node) -> dict[str, Any]:
    """Every localizer parameter's current value by name (None when unset)."""
    cameras = list(node.get_parameter("cameras").value)
    values = {}
    for name in parameter_names(cameras):
        try:
            values[name] = node.get_parameter(name).value
        except ParameterUninitializedException:
            values[name] = None
    return values
