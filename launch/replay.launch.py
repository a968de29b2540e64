"""Localizer on recorded data: simulated time from a rosbag2 played with ``--clock``.

    ros2 launch sky2ground_ros replay.launch.py bag:=/data/flight tile_source:=/data/ortho.tif

The localizer follows /clock (``use_sim_time``), reads tiles in-process and resets its
window and smoother when the bag restarts (time jumps back). Without ``bag`` only the node
starts; play the bag yourself with ``ros2 bag play --clock``. Needs ``launch`` and
``launch_ros`` (a ROS 2 install): they are not on PyPI, so the tests only parse this file.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution, PythonExpression
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

PACKAGE = "sky2ground_ros"


def generate_launch_description() -> LaunchDescription:
    """Arguments, the localizer with use_sim_time and, when a bag is given, its playback."""
    params_file = LaunchConfiguration("params_file")
    bag = LaunchConfiguration("bag")
    rate = LaunchConfiguration("rate")
    default_params = PathJoinSubstitution([FindPackageShare(PACKAGE), "config", "sky2ground.yaml"])
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "params_file", default_value=default_params, description="parameter YAML file"
            ),
            DeclareLaunchArgument(
                "tile_source", description="satellite tiles of the recorded area (in-process)"
            ),
            DeclareLaunchArgument(
                "bag", default_value="", description="rosbag2 to play with --clock (optional)"
            ),
            DeclareLaunchArgument("rate", default_value="1.0", description="playback rate"),
            Node(
                package=PACKAGE,
                executable="sky2ground_localizer",
                name="sky2ground_localizer",
                output="screen",
                parameters=[
                    params_file,
                    {"tile_source": LaunchConfiguration("tile_source"), "use_sim_time": True},
                ],
            ),
            ExecuteProcess(
                cmd=["ros2", "bag", "play", bag, "--clock", "--rate", rate],
                output="screen",
                condition=IfCondition(PythonExpression(["'", bag, "' != ''"])),
            ),
        ]
    )
