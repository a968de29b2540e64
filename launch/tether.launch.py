"""Ground station at the other end of the tether: the `skynet_inference` node on its GPU.

    ros2 launch sky2ground_ros tether.launch.py model_path:=/models/skynet_base.safetensors \
        dds_profile:=/etc/sky2ground/fastdds_tether.xml

The node loads the model in ``configure`` (CUDA when present), warms it up and serves
``/skynet_inference/localize`` for the localizer of launch/onboard.launch.py. Use the same
ROS_DOMAIN_ID and DDS profile on both machines (README, "Tethered GPU"). Needs ``launch``
and ``launch_ros`` (a ROS 2 install); the tests only parse this file.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, SetEnvironmentVariable
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution, PythonExpression
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

PACKAGE = "sky2ground_ros"


def generate_launch_description() -> LaunchDescription:
    """Arguments, DDS environment and the inference node."""
    params_file = LaunchConfiguration("params_file")
    dds_profile = LaunchConfiguration("dds_profile")
    default_params = PathJoinSubstitution([FindPackageShare(PACKAGE), "config", "sky2ground.yaml"])
    profile_given = IfCondition(PythonExpression(["'", dds_profile, "' != ''"]))
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "params_file", default_value=default_params, description="parameter YAML file"
            ),
            DeclareLaunchArgument(
                "model_path",
                default_value="",
                description="SkyNet weights (empty: the shipped tiny checkpoint)",
            ),
            DeclareLaunchArgument(
                "device", default_value="auto", description="auto, cpu, cuda or cuda:N"
            ),
            DeclareLaunchArgument(
                "dds_profile",
                default_value="",
                description="Fast DDS XML profile for the two-machine link (empty: unchanged)",
            ),
            DeclareLaunchArgument(
                "discovery_range",
                default_value="SUBNET",
                description="ROS_AUTOMATIC_DISCOVERY_RANGE (SUBNET, or OFF with a peers list)",
            ),
            SetEnvironmentVariable(
                "FASTDDS_DEFAULT_PROFILES_FILE", dds_profile, condition=profile_given
            ),
            SetEnvironmentVariable(
                "ROS_AUTOMATIC_DISCOVERY_RANGE", LaunchConfiguration("discovery_range")
            ),
            Node(
                package=PACKAGE,
                executable="skynet_inference",
                name="skynet_inference",
                output="screen",
                parameters=[
                    params_file,
                    {
                        "model_path": LaunchConfiguration("model_path"),
                        "device": LaunchConfiguration("device"),
                    },
                ],
            ),
        ]
    )
