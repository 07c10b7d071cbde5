"""2,000 frames through the tracker: the bank and the process RSS stay flat."""

import gc
import resource

from vrs_hq_ros.tracking.online_tracker import OnlineTracker

from .conftest import square_mask


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_rss_and_bank_do_not_grow_over_2000_frames(sam2, frame_features):
    tracker = OnlineTracker(sam2)
    memory = tracker.new_memory()
    tracker.condition(memory, 0, square_mask(), frame_features[0])
    sizes = {}
    rss = {}
    for index in range(1, 2001):
        tracker.step(memory, index, frame_features[index % len(frame_features)])
        if index in (200, 1000, 2000):
            gc.collect()
            rss[index] = _rss_mb()
            sizes[index] = (memory.num_entries(), len(memory.tensors()))
    assert sizes[200] == sizes[1000] == sizes[2000]
    # An unbounded bank would add ~1,800 memory entries between 200 and 2,000 frames.
    assert rss[2000] - rss[200] < 8.0, rss
