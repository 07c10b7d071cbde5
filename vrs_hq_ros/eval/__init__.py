"""vrs_hq_ros.eval."""
