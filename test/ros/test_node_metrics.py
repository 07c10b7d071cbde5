"""Counters, rates and latency percentiles of the node."""

from __future__ import annotations

import pytest

from vrs_hq_ros.ros.node_metrics import LogThrottle, MetricsSnapshot, NodeMetrics, RateMeter


def test_rate_meter_measures_events_per_second_in_its_window():
    meter = RateMeter(window_s=1.0)
    for i in range(11):
        meter.tick(10.0 + i * 0.1)  # 10 Hz for 1 s

    assert meter.rate_hz(11.0) == pytest.approx(10.0)
    assert meter.rate_hz(20.0) == 0.0  # everything aged out


def test_reject_counts_every_frame_per_cause_and_reset_zeroes_everything():
    metrics = NodeMetrics()

    for cause, text in (("layout", "bad step"), ("layout", "bad step"), ("encoding", "yuv")):
        metrics.reject(cause, text)
    metrics.stream_restart("backward")
    snap = metrics.snapshot()

    assert snap.frames_rejected == 3
    assert snap.rejected_by_cause == {"layout": 2, "encoding": 1}
    assert snap.last_error == "yuv" and snap.seconds_since_problem is not None
    assert (snap.stream_restarts, snap.restarts_by_cause) == (1, {"backward": 1})
    metrics.reset()
    assert metrics.snapshot() == MetricsSnapshot()


def test_log_throttle_logs_each_cause_at_most_once_per_period_with_the_count():
    throttle = LogThrottle(period_s=5.0)

    due = [throttle.due("layout", t) for t in (0.0, 1.0, 2.0, 3.0)]
    other = throttle.due("encoding", 3.0)
    later = throttle.due("layout", 6.0)

    assert due == [1, None, None, None]  # the first line at once, then quiet
    assert other == 1  # causes are throttled separately
    assert later == 4  # the three held back plus this one


def test_latency_percentiles_and_counters():
    metrics = NodeMetrics()
    for i in range(100):
        metrics.received(now_s=i * 0.01)
        metrics.processed(latency_s=(i + 1) / 1000, now_s=i * 0.01)
    metrics.dropped(3)
    metrics.goal(True)
    metrics.goal(False, "duplicate id")

    snap = metrics.snapshot(now_s=0.99)

    assert snap.frames_received == snap.frames_processed == 100
    assert snap.frames_dropped == 3
    assert (snap.goals_accepted, snap.goals_rejected) == (1, 1)
    assert snap.latency_p50_s == pytest.approx(0.0505)
    assert snap.latency_p99_s == pytest.approx(0.09901)
    assert snap.input_rate_hz == pytest.approx(100.0)
