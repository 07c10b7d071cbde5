"""vrs_hq_ros.train."""
