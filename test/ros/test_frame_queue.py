"""The bounded frame queue between the image callback and the processing thread."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from vrs_hq_ros.ros.frame_queue import FrameQueue, QueuedFrame, QueuePolicy


def _frame(i: int) -> QueuedFrame:
    return QueuedFrame(stamp_ns=i, rgb=np.zeros((2, 2, 3), np.uint8), header=None,
                       received_s=0.0)


def test_drop_oldest_keeps_the_newest_frames_and_counts_drops():
    queue = FrameQueue(depth=2)
    dropped = [queue.put(_frame(i)) for i in range(5)]

    assert [d.stamp_ns for d in dropped if d is not None] == [0, 1, 2]
    assert queue.dropped == 3 and len(queue) == 2 and queue.max_seen == 2
    assert [queue.get(0).stamp_ns, queue.get(0).stamp_ns] == [3, 4]


def test_drop_newest_keeps_the_queued_frames():
    queue = FrameQueue(depth=2, policy="drop_newest")
    dropped = [queue.put(_frame(i)) for i in range(4)]

    assert [d.stamp_ns for d in dropped if d is not None] == [2, 3]
    assert queue.policy is QueuePolicy.DROP_NEWEST
    assert [queue.get(0).stamp_ns, queue.get(0).stamp_ns] == [0, 1]


def test_get_times_out_empty_and_close_wakes_a_waiting_reader():
    queue = FrameQueue()
    assert queue.get(timeout_s=0.01) is None

    got = []
    reader = threading.Thread(target=lambda: got.append(queue.get(timeout_s=10)))
    reader.start()
    time.sleep(0.05)
    queue.close()
    reader.join(2)

    assert not reader.is_alive() and got == [None]
    assert queue.put(_frame(1)) is not None  # a closed queue refuses frames


def test_invalid_depth_and_policy_are_rejected():
    with pytest.raises(ValueError, match="depth"):
        FrameQueue(depth=0)
    with pytest.raises(ValueError):
        FrameQueue(policy="keep_everything")


def test_stamp_gaps_count_frames_lost_before_the_callback():
    from vrs_hq_ros.ros.frame_queue import StampGapCounter

    gaps = StampGapCounter()
    period = 33_333_333
    stamps = [i * period for i in range(10)] + [12 * period, 13 * period, 17 * period,
                                                18 * period]

    lost = [gaps.add(s) for s in stamps]

    assert lost[11] == 2 and lost[13] == 3  # confirmed by the next regular step
    assert gaps.lost == 5


def test_a_publisher_catching_up_in_a_burst_loses_nothing_and_keeps_the_period():
    from vrs_hq_ros.ros.frame_queue import StampGapCounter

    gaps = StampGapCounter()
    period = 33_333_333
    stamps = [i * period for i in range(10)]
    for start in range(10, 200, 10):  # every 10th frame: 3 frames late, sent back to back
        late = start * period + 3 * period
        stamps += [late, late + 500_000, late + 1_000_000, late + 1_500_000]
        stamps += [(start + i) * period for i in range(4, 10)]

    for s in stamps:
        gaps.add(s)
    gaps.add(stamps[-1] + 3 * period)  # then 2 frames really lost
    gaps.add(stamps[-1] + 4 * period)

    assert gaps.lost == 2


def test_stamps_going_back_reset_instead_of_counting():
    from vrs_hq_ros.ros.frame_queue import StampGapCounter

    gaps = StampGapCounter()
    for i in range(10):
        gaps.add(1_000_000_000 + i * 50_000_000)
    gaps.add(0)  # a replay restarts
    gaps.add(10_000_000_000)

    assert gaps.lost == 0


def test_jittery_stamps_count_only_the_frames_really_lost():
    import numpy as np

    from vrs_hq_ros.ros.frame_queue import StampGapCounter

    # A Python publisher under load: steps of 24-41 ms around 33.3 ms (measured here).
    rng = np.random.default_rng(0)
    period = 33_333_333
    stamps = [int(i * period + rng.uniform(-0.125, 0.125) * period) for i in range(300)]
    received = [s for i, s in enumerate(stamps) if i not in (100, 200, 201)]

    gaps = StampGapCounter()
    for s in received:
        gaps.add(s)

    assert gaps.lost == 3


def test_the_processor_stops_cleanly_before_and_after_it_started():
    """Ctrl-C during activation stops a processor whose thread never started."""
    from vrs_hq_ros.ros.frame_processor import FrameProcessor

    results: list[int] = []
    never_started = FrameProcessor(FrameQueue(depth=2), push=lambda f: f.stamp_ns,
                                   on_result=lambda f, r: None, on_error=lambda f, e: None)
    assert never_started.stop(timeout_s=1.0)

    queue = FrameQueue(depth=2)
    running = FrameProcessor(queue, push=lambda f: f.stamp_ns * 10,
                             on_result=lambda f, r: results.append(r),
                             on_error=lambda f, e: None)
    running.start()
    queue.put(_frame(3))
    deadline = time.monotonic() + 5.0
    while not results and time.monotonic() < deadline:
        time.sleep(0.01)
    assert running.stop(timeout_s=5.0)
    assert results == [30]
