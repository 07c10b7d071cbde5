"""The ``vrs-hq`` command line (no ROS needed)."""
