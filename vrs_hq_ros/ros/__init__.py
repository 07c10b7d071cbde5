"""ROS 2 glue: the only part of vrs_hq_ros that imports rclpy."""
