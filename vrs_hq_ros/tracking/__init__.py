"""vrs_hq_ros.tracking."""
