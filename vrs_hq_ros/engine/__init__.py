"""vrs_hq_ros.engine."""
