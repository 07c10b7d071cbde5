"""Counters, rates and latency percentiles of the node."""

from __future__ import annotations

import pytest

from vrs_hq_ros.ros.node_metrics import NodeMetrics, RateMeter


def test_rate_meter_measures_events_per_second_in_its_window():
    meter = RateMeter(window_s=1.0)
    for i in range(11):
        meter.tick(10.0 + i * 0.1)  # 10 Hz for 1 s

    assert meter.rate_hz(11.0) == pytest.approx(10.0)
    assert meter.rate_hz(20.0) == 0.0  # everything aged out


def test_reject_reports_each_cause_once_and_counts_every_frame():
    metrics = NodeMetrics()

    firsts = [metrics.reject("layout", "bad step"), metrics.reject("layout", "bad step"),
              metrics.reject("encoding", "yuv")]
    snap = metrics.snapshot()

    assert firsts == [True, False, True]
    assert snap.frames_rejected == 3
    assert snap.rejected_by_cause == {"layout": 2, "encoding": 1}
    assert snap.last_error == "yuv"


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
