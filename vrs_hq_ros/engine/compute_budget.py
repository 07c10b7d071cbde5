"""CPU thread budget and allocator settings for running tracking and reasoning together.

No rclpy here: the node and the benchmarks share these.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

LOG = logging.getLogger(__name__)


def cpu_count() -> int:
    """Cores this process may run on (affinity / cgroup cpusets respected)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def thread_budget(threads: int) -> tuple[int, int]:
    """(tracking, reasoning) torch threads for a total of ``threads`` (0 = all cores).

    Tracking and reasoning run at the same time; giving each the whole machine makes them
    oversubscribe the cores and doubles the tracking p99 while reasoning is in flight.
    """
    total = threads if threads > 0 else cpu_count()
    reasoning = max(1, total // 2)
    return max(1, total - reasoning), reasoning


def set_torch_threads(threads: int) -> None:
    """Set the calling thread's torch intra-op thread count."""
    import torch

    torch.set_num_threads(max(1, threads))


# glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def tune_malloc(threshold_bytes: int = 256 << 20) -> bool:
    """Keep freed frame-sized buffers in the heap instead of unmapping them (glibc only).

    Per-frame tensors are larger than glibc's dynamic mmap threshold, so each frame maps,
    faults in and unmaps thousands of pages. Returns False where mallopt is unavailable.
    """
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mmap_max = min(threshold_bytes, 32 << 20)  # glibc caps the mmap threshold at 32 MiB (64-bit)
    ok = mallopt(_M_MMAP_THRESHOLD, mmap_max) == 1 and mallopt(_M_TRIM_THRESHOLD,
                                                               threshold_bytes) == 1
    LOG.debug("mallopt thresholds set: %s", ok)
    return ok
