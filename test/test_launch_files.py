"""The launch files and config/sky2ground.yaml, checked without running `ros2 launch`.

launch / launch_ros are not on PyPI, so the files are parsed: their arguments, the
parameter file they point to and the executables they start must exist, and the YAML must
set exactly the parameters the nodes declare (test_ros_localizer_bad_input starts the
localizer with it).
"""

import ast
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from sky2ground_ros.localizer.parameters import (
    CAMERA_PARAMETERS,
    NODE_PARAMETERS,
    UNSET_DOUBLE_ARRAY,
)
from sky2ground_ros.ros.skynet_inference_node import PARAMETERS as INFERENCE_PARAMETERS

REPO = Path(__file__).resolve().parents[1]
LAUNCH = REPO / "launch"
CONFIG = yaml.safe_load((REPO / "config" / "sky2ground.yaml").read_text())


def calls(tree: ast.AST, name: str) -> list[ast.Call]:
    """Every call of ``name(...)`` in a module."""
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == name
    ]


def keyword(call: ast.Call, key: str) -> Any:
    """A literal keyword argument of a call (None when absent or not a literal)."""
    for kw in call.keywords:
        if kw.arg == key:
            try:
                return ast.literal_eval(kw.value)
            except ValueError:
                return None
    return None


def module_constants(tree: ast.Module) -> dict[str, Any]:
    """Module-level NAME = literal assignments."""
    constants = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                constants[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    return constants


def console_scripts() -> dict[str, str]:
    """name -> module of setup.py's console_scripts."""
    text = (REPO / "setup.py").read_text()
    return dict(re.findall(r'"(\w+) = ([\w.]+):main"', text))


def flatten(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested YAML parameters as ROS dotted names."""
    flat = {}
    for key, value in params.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


@pytest.mark.parametrize(
    ("launch_file", "arguments", "executables"),
    [
        (
            "sky2ground.launch.py",
            {"params_file", "tile_source", "tile_server", "use_sim_time"},
            {"satellite_tile_server", "sky2ground_localizer"},
        ),
        (
            "replay.launch.py",
            {"params_file", "tile_source", "bag", "rate"},
            {"sky2ground_localizer"},
        ),
        (
            "onboard.launch.py",
            {
                "params_file",
                "tile_source",
                "tile_server",
                "inference_action",
                "dds_profile",
                "discovery_range",
                "use_sim_time",
            },
            {"satellite_tile_server", "sky2ground_localizer"},
        ),
        (
            "tether.launch.py",
            {"params_file", "model_path", "device", "dds_profile", "discovery_range"},
            {"skynet_inference"},
        ),
    ],
)
def test_launch_file_arguments_and_targets(
    launch_file: str, arguments: set[str], executables: set[str]
) -> None:
    source = (LAUNCH / launch_file).read_text()
    tree = ast.parse(source)
    assert any(
        isinstance(n, ast.FunctionDef) and n.name == "generate_launch_description"
        for n in tree.body
    )
    declared = {ast.literal_eval(c.args[0]) for c in calls(tree, "DeclareLaunchArgument")}
    assert declared == arguments
    constants = module_constants(tree)
    nodes = calls(tree, "Node")
    assert {keyword(n, "package") or constants["PACKAGE"] for n in nodes} == {"sky2ground_ros"}
    assert {keyword(n, "executable") for n in nodes} == executables
    assert {keyword(n, "name") for n in nodes} <= set(CONFIG)  # sections of the params file
    scripts = console_scripts()
    for executable in executables:
        assert executable in scripts, (
            f"setup.py lacks the console script {executable!r} "
            "(sky2ground_localizer = sky2ground_ros.ros.localizer_node:main)"
        )
        module = __import__(scripts[executable], fromlist=["main"])
        assert callable(module.main)
    # the default parameter file the launch file builds a path to
    (join,) = calls(tree, "PathJoinSubstitution")
    parts = [ast.literal_eval(e) for e in join.args[0].elts[1:]]
    assert (REPO.joinpath(*parts)).is_file() and parts == ["config", "sky2ground.yaml"]


def test_replay_launch_uses_sim_time() -> None:
    tree = ast.parse((LAUNCH / "replay.launch.py").read_text())
    (node,) = calls(tree, "Node")
    parameters = next(kw.value for kw in node.keywords if kw.arg == "parameters")
    overrides = next(e for e in parameters.elts if isinstance(e, ast.Dict))
    pairs = dict(zip([ast.literal_eval(k) for k in overrides.keys], overrides.values, strict=True))
    assert ast.literal_eval(pairs["use_sim_time"]) is True
    assert "--clock" in ast.unparse(tree)


def test_yaml_sets_exactly_the_declared_localizer_parameters() -> None:
    params = flatten(CONFIG["sky2ground_localizer"]["ros__parameters"])
    cameras = params["cameras"]
    declared = dict(NODE_PARAMETERS)
    for camera in cameras:
        declared.update({f"{camera}.{k}": v for k, v in CAMERA_PARAMETERS.items()})
    unset = {k for k, (default, _) in declared.items() if default is UNSET_DOUBLE_ARRAY}
    assert set(params) == set(declared) - unset
    for name, value in params.items():
        default = declared[name][0]
        assert type(value) is type(default), f"{name}: {value!r} vs default {default!r}"


def test_yaml_sets_exactly_the_declared_tile_server_parameters() -> None:
    source = (REPO / "sky2ground_ros" / "ros" / "tile_server_node.py").read_text()
    declared = set(re.findall(r'declare_parameter\("(\w+)"', source))
    assert set(CONFIG["satellite_tile_server"]["ros__parameters"]) == declared


def test_yaml_sets_exactly_the_declared_inference_parameters() -> None:
    params = flatten(CONFIG["skynet_inference"]["ros__parameters"])
    assert set(params) == set(INFERENCE_PARAMETERS)
    for name, value in params.items():
        assert type(value) is type(INFERENCE_PARAMETERS[name][0]), name


def test_onboard_launch_runs_the_localizer_with_remote_inference() -> None:
    tree = ast.parse((LAUNCH / "onboard.launch.py").read_text())
    localizer = next(
        f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) and f.name == "localizer"
    )
    (node,) = calls(localizer, "Node")
    parameters = next(kw.value for kw in node.keywords if kw.arg == "parameters")
    overrides = next(e for e in parameters.elts if isinstance(e, ast.Dict))
    keys = [ast.literal_eval(k) for k in overrides.keys]
    assert ast.literal_eval(overrides.values[keys.index("inference")]) == "remote"
    assert set(keys) - {"use_sim_time"} <= set(NODE_PARAMETERS)
    env = {ast.literal_eval(c.args[0]) for c in calls(tree, "SetEnvironmentVariable")}
    assert env == {"FASTDDS_DEFAULT_PROFILES_FILE", "ROS_AUTOMATIC_DISCOVERY_RANGE"}
