"""Localizer + satellite tile server with config/sky2ground.yaml.

    ros2 launch sky2ground_ros sky2ground.launch.py tile_source:=/data/ortho.tif

With ``tile_server:=true`` (default) the localizer asks the satellite_tile_server node for
tiles (``service:/satellite_tile_server/get_tiles``); with ``false`` it reads
``tile_source`` in-process and no server is started. Needs ``launch`` and ``launch_ros``
(a ROS 2 install): they are not on PyPI, so the tests only parse this file.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition, UnlessCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

PACKAGE = "sky2ground_ros"
TILE_SERVICE = "service:/satellite_tile_server/get_tiles"


def generate_launch_description() -> LaunchDescription:
    """Arguments, the tile server and the localizer (its tile source depends on tile_server)."""
    params_file = LaunchConfiguration("params_file")
    tile_source = LaunchConfiguration("tile_source")
    tile_server = LaunchConfiguration("tile_server")
    use_sim_time = LaunchConfiguration("use_sim_time")
    default_params = PathJoinSubstitution([FindPackageShare(PACKAGE), "config", "sky2ground.yaml"])

    def localizer(source: object, condition: object) -> Node:
        return Node(
            package=PACKAGE,
            executable="sky2ground_localizer",
            name="sky2ground_localizer",
            output="screen",
            parameters=[params_file, {"tile_source": source, "use_sim_time": use_sim_time}],
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
                "use_sim_time", default_value="false", description="follow /clock"
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
