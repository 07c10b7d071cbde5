"""NodeStatus and /diagnostics messages from the node's metrics and the engine's stats."""

from __future__ import annotations

from dataclasses import dataclass

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

from vrs_hq_ros.msg import NodeStatus
from vrs_hq_ros.ros.node_metrics import MetricsSnapshot


@dataclass
class EngineFigures:
    """What the status needs from the engine (zeros before the engine exists)."""

    reasoning_runs: int = 0
    reasoning_time_s: float = 0.0  # the most recent reasoning run
    goals_active: int = 0


def node_status_msg(snap: MetricsSnapshot, engine: EngineFigures, stamp,
                    lost_before_node: int = 0) -> NodeStatus:
    """``NodeStatus`` with the counters of ``snap`` and the engine's figures.

    ``lost_before_node``: frames missing between header stamps (``StampGapCounter``).
    """
    msg = NodeStatus(
        frames_received=snap.frames_received, frames_processed=snap.frames_processed,
        frames_dropped=snap.frames_dropped, frames_rejected=snap.frames_rejected,
        frames_lost_before_node=lost_before_node,
        goals_accepted=snap.goals_accepted, goals_rejected=snap.goals_rejected,
        goals_active=engine.goals_active, reasoning_runs=engine.reasoning_runs,
        reasoning_time=float(engine.reasoning_time_s), input_rate_hz=snap.input_rate_hz,
        output_rate_hz=snap.output_rate_hz, latency_p50=snap.latency_p50_s,
        latency_p99=snap.latency_p99_s, last_error=snap.last_error)
    msg.header.stamp = stamp
    return msg


def diagnostic_array_msg(snap: MetricsSnapshot, engine: EngineFigures, stamp, name: str,
                         hardware_id: str, active: bool, warn_hold_s: float = 10.0,
                         lost_before_node: int = 0) -> DiagnosticArray:
    """One ``DiagnosticStatus``: WARN if inactive or input was rejected lately, else OK.

    "Lately" is the last ``warn_hold_s``: the level recovers once the input is clean again.
    """
    values = {
        "input_rate_hz": f"{snap.input_rate_hz:.2f}",
        "output_rate_hz": f"{snap.output_rate_hz:.2f}",
        "latency_p50_s": f"{snap.latency_p50_s:.4f}",
        "latency_p99_s": f"{snap.latency_p99_s:.4f}",
        "frames_received": str(snap.frames_received),
        "frames_processed": str(snap.frames_processed),
        "frames_dropped": str(snap.frames_dropped),
        "frames_rejected": str(snap.frames_rejected),
        "frames_lost_before_node": str(lost_before_node),
        "reasoning_runs": str(engine.reasoning_runs),
        "reasoning_time_s": f"{engine.reasoning_time_s:.4f}",
        "goals_active": str(engine.goals_active),
        "goals_accepted": str(snap.goals_accepted),
        "goals_rejected": str(snap.goals_rejected),
        "stream_restarts": str(snap.stream_restarts),
        "last_error": snap.last_error,
    }
    values.update({f"rejected_{cause}": str(n) for cause, n in snap.rejected_by_cause.items()})
    values.update({f"restarts_{cause}": str(n) for cause, n in snap.restarts_by_cause.items()})
    recent = snap.seconds_since_problem is not None and snap.seconds_since_problem < warn_hold_s
    if not active:
        level, message = DiagnosticStatus.WARN, "not active"
    elif recent:
        level, message = DiagnosticStatus.WARN, f"rejected input: {snap.last_error}"
    elif snap.frames_received and not snap.frames_processed:
        level, message = DiagnosticStatus.WARN, "receiving frames, no results yet"
    else:
        level, message = DiagnosticStatus.OK, "running"
    status = DiagnosticStatus(level=level, name=name, message=message, hardware_id=hardware_id,
                              values=[KeyValue(key=k, value=v) for k, v in values.items()])
    array = DiagnosticArray(status=[status])
    array.header.stamp = stamp
    return array
