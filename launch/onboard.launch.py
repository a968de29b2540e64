"""Onboard computer of a tethered drone: tile server + localizer with remote inference.

    ros2 launch sky2ground_ros onboard.launch.py tile_source:=/data/ortho.tif \
        dds_profile:=/etc/sky2ground/fastdds_tether.xml

The localizer runs with ``inference: remote``: it decodes and resizes the camera frames,
picks the tiles and does the geo-registration, and sends each window (JPEG at the model
input size) to the ``skynet_inference`` node of launch/tether.launch.py on the ground
station. ``dds_profile`` / ``discovery_range`` set FASTDDS_DEFAULT_PROFILES_FILE and
ROS_AUTOMATIC_DISCOVERY_RANGE for the nodes (without them the nodes keep DDS on this host).
Needs ``launch`` and ``launch_ros`` (a ROS 2 install); the tests only parse this file.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, SetEnvironmentVariable
from launch.conditions import IfCondition, UnlessCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution, PythonExpression
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

PACKAGE = "sky2ground_ros"
TILE_SERVICE = "service:/satellite_tile_server/get_tiles"


def generate_launch_description() -> LaunchDescription:
    """Arguments, DDS environment, the tile server and the remote-inference localizer."""
    params_file = LaunchConfiguration("params_file")
    tile_source = LaunchConfiguration("tile_source")
    tile_server = LaunchConfiguration("tile_server")
    inference_action = LaunchConfiguration("inference_action")
    dds_profile = LaunchConfiguration("dds_profile")
    use_sim_time = LaunchConfiguration("use_sim_time")
    default_params = PathJoinSubstitution([FindPackageShare(PACKAGE), "config", "sky2ground.yaml"])
    profile_given = IfCondition(PythonExpression(["'", dds_profile, "' != ''"]))

    def localizer(source: object, condition: object) -> Node:
        return Node(
            package=PACKAGE,
            executable="sky2ground_localizer",
            name="sky2ground_localizer",
            output="screen",
            parameters=[
                params_file,
                {
                    "tile_source": source,
                    "inference": "remote",
                    "remote.action": inference_action,
                    "use_sim_time": use_sim_time,
                },
            ],
            condition=condition,
        )

    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "params_file", default_value=default_params, description="parameter YAML file"
            ),
            DeclareLaunchArgument(
                "tile_source",
                description="satellite tiles: GeoTIFF/COG, MBTiles, PMTiles, z/x/y directory "
                "or http(s) URL template",
            ),
            DeclareLaunchArgument(
                "tile_server",
                default_value="true",
                description="serve tiles through satellite_tile_server (else read in-process)",
            ),
            DeclareLaunchArgument(
                "inference_action",
                default_value="/skynet_inference/localize",
                description="Localize action of the skynet_inference node on the tether",
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
            DeclareLaunchArgument(
                "use_sim_time", default_value="false", description="follow /clock"
            ),
            SetEnvironmentVariable(
                "FASTDDS_DEFAULT_PROFILES_FILE", dds_profile, condition=profile_given
            ),
            SetEnvironmentVariable(
                "ROS_AUTOMATIC_DISCOVERY_RANGE", LaunchConfiguration("discovery_range")
            ),
            Node(
                package=PACKAGE,
                executable="satellite_tile_server",
                name="satellite_tile_server",
                output="screen",
                parameters=[params_file, {"source": tile_source, "use_sim_time": use_sim_time}],
                condition=IfCondition(tile_server),
            ),
            localizer(TILE_SERVICE, IfCondition(tile_server)),
            localizer(tile_source, UnlessCondition(tile_server)),
        ]
    )
