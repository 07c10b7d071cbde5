"""One tracked object: its SAM2 memory bank and its recent masks."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Optional

import torch

from vrs_hq_ros.tracking.memory_bank import ObjectMemory
from vrs_hq_ros.tracking.online_tracker import TrackStep


@dataclass
class ObjectTrack:
    """State of one object across frames.

    ``recent_masks`` maps frame index -> bool mask [S/4, S/4] for the last
    ``history_frames`` frames: what a late keyframe is compared with. ``lost_frames`` counts
    consecutive frames whose object score said "not visible".
    """

    memory: ObjectMemory
    history_frames: int
    recent_masks: OrderedDict[int, torch.Tensor] = field(default_factory=OrderedDict)
    last_step: Optional[TrackStep] = None
    lost_frames: int = 0

    def record(self, step: TrackStep) -> None:
        """Take ``step`` as the newest result (frames must come in increasing order)."""
        for index in [i for i in self.recent_masks if i >= step.frame_index]:
            del self.recent_masks[index]  # re-tracked after a keyframe: the old masks go
        self.recent_masks[step.frame_index] = step.mask_logits > 0
        while len(self.recent_masks) > self.history_frames:
            self.recent_masks.popitem(last=False)
        self.last_step = step
        self.lost_frames = 0 if step.visible else self.lost_frames + 1

    def record_all(self, steps: list[TrackStep]) -> None:
        """``record`` each step in order."""
        for step in steps:
            self.record(step)

    def mask_at(self, frame_index: int) -> Optional[torch.Tensor]:
        """Return the track's bool mask on ``frame_index`` if it is still remembered."""
        return self.recent_masks.get(frame_index)
