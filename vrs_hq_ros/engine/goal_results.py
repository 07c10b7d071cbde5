"""Turn a goal's track into its per-frame result (full-resolution mask, box, centroid)."""

from __future__ import annotations

import math

import numpy as np

from vrs_hq_ros.engine.goals import Goal
from vrs_hq_ros.engine.results import BoundingBox, GoalFrameResult, TrackState
from vrs_hq_ros.tracking.online_tracker import MaskMapping


def goal_frame_result(goal: Goal, height: int, width: int,
                      mapping: MaskMapping = MaskMapping()) -> GoalFrameResult:
    """Return the goal's state on the newest frame, its mask at the source size [height, width].

    ``mapping``: the tracker's (letterbox crop, hole filling of the model's settings).
    """
    step = goal.track.last_step if goal.track is not None else None
    if step is None:
        mask = np.zeros((height, width), dtype=bool)
        state, score = TrackState.SEARCHING, 0.0
    else:
        mask = (mapping.to_frame(step.mask_logits, height, width) > 0).cpu().numpy()
        state = TrackState.TRACKED if step.visible else TrackState.LOST
        score = _sigmoid(step.object_score_logit)
    bbox, centroid, area = mask_geometry(mask)
    return GoalFrameResult(goal_id=goal.goal_id, sentence=goal.sentence, track_id=goal.track_id,
                           state=state, score=score, mask_hw=mask, bbox=bbox,
                           centroid_xy=centroid, area_px=area,
                           keyframe_stamp_ns=goal.keyframe_stamp_ns, window_id=goal.window_id,
                           label=goal.label)


def mask_geometry(mask: np.ndarray) -> tuple[BoundingBox | None, tuple[float, float] | None, int]:
    """Box (inclusive-exclusive), centroid (column, row) and area of a bool mask [H, W]."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None, None, 0
    cols = np.flatnonzero(mask.any(axis=0))
    ys, xs = np.nonzero(mask)
    bbox = BoundingBox(x_min=int(cols[0]), y_min=int(rows[0]), x_max=int(cols[-1]) + 1,
                       y_max=int(rows[-1]) + 1)
    return bbox, (float(xs.mean()), float(ys.mean())), int(ys.size)


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)
