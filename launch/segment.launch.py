"""Start the VRS-HQ segmentation node with config/segment.yaml.

  ros2 launch vrs_hq_ros segment.launch.py camera_topic:=/camera/color/image_raw \
      goal:="the mug the person is about to pick up" device:=cuda

The node autostarts (configure + activate) unless ``autostart:=false`` is given, in which case a
lifecycle manager (or ``ros2 lifecycle set``) drives it.
"""

from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from launch import LaunchDescription


def generate_launch_description() -> LaunchDescription:
    """Build the node with its YAML parameters and the launch-time overrides."""
    arguments = [
        DeclareLaunchArgument("namespace", default_value="",
                              description="Namespace of the node and its ~/ topics."),
        DeclareLaunchArgument("camera_topic", default_value="image",
                              description="sensor_msgs/Image topic to segment."),
        DeclareLaunchArgument("goal", default_value="",
                              description="Initial goal sentence (empty: wait for goals)."),
        DeclareLaunchArgument("device", default_value="auto",
                              description="Torch device: auto, cpu, cuda, cuda:N."),
        DeclareLaunchArgument(
            "config_file",
            default_value=PathJoinSubstitution(
                [FindPackageShare("vrs_hq_ros"), "config", "segment.yaml"]),
            description="Parameter file (all node parameters)."),
        DeclareLaunchArgument("use_sim_time", default_value="false",
                              description="Use /clock (bag replay)."),
        DeclareLaunchArgument("autostart", default_value="true",
                              description="Configure and activate at start-up."),
    ]
    def text(name: str) -> ParameterValue:
        # Strings stay strings: launch would otherwise parse "" or "a: b" as YAML.
        return ParameterValue(LaunchConfiguration(name), value_type=str)

    node = Node(
        package="vrs_hq_ros",
        executable="segment_node",
        name="vrs_hq_segment",
        namespace=LaunchConfiguration("namespace"),
        output="screen",
        emulate_tty=True,
        parameters=[
            LaunchConfiguration("config_file"),
            {
                "topics.image": text("camera_topic"),
                "goals.initial_sentence": text("goal"),
                "model.device": text("device"),
                "use_sim_time": ParameterValue(LaunchConfiguration("use_sim_time"),
                                               value_type=bool),
                "autostart": ParameterValue(LaunchConfiguration("autostart"), value_type=bool),
            },
        ],
    )
    return LaunchDescription([*arguments, node])
