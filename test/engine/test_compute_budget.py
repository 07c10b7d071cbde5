"""Thread budget and allocator settings."""

from __future__ import annotations

from vrs_hq_ros.engine.compute_budget import cpu_count, thread_budget, tune_malloc


def test_thread_budget_splits_the_cores_between_tracking_and_reasoning():
    assert thread_budget(2) == (1, 1)
    assert thread_budget(8) == (4, 4)
    assert thread_budget(1) == (1, 1)
    assert sum(thread_budget(0)) == max(2, cpu_count())


def test_malloc_thresholds_are_accepted_by_glibc():
    assert tune_malloc() is True
