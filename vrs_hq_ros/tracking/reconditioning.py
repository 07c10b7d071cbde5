"""What to do when a new keyframe arrives for an object that is already being tracked.

Policy (IoU of the keyframe mask with the track's own mask on the keyframe's frame):

- **agree** (IoU >= ``agree_iou``): the reasoning confirms the track. The keyframe is added
  as one more conditioning frame and the older keyframes stay (up to the bank's policy):
  several views of the same object make SAM2 robust to pose and lighting changes.
- **disagree** (IoU < ``agree_iou``): the track followed something else, or lost the
  object. The bank restarts from the new keyframe alone; keeping the old keyframes would
  keep pulling memory attention back to the wrong object.
- **start** (the track has no mask on that frame: no track yet, or the keyframe is older
  than what the track remembers): nothing to compare with, so the bank restarts from the
  keyframe, as for a disagreement.
- **empty** keyframe (the model found no object in the window): nothing changes; the track
  (if any) goes on and its own object score reports visible / lost.

In every non-empty case the tracked-frame memories are dropped and the frames after the
keyframe are re-tracked from cached features (``OnlineTracker.recondition``).
"""

from __future__ import annotations

import enum

import torch
import torch.nn.functional as F


class KeyframeDecision(enum.Enum):
    """How a new keyframe is used."""

    START = "start"  # the object had no track yet
    AGREE = "agree"
    DISAGREE = "disagree"
    EMPTY = "empty"


def mask_iou(a: torch.Tensor, b: torch.Tensor) -> float:
    """IoU of two bool masks [H, W] (resized to ``a``'s size); 1.0 when both are empty."""
    if b.shape != a.shape:
        b = F.interpolate(b[None, None].float(), size=a.shape, mode="nearest")[0, 0] > 0.5
    union = int((a | b).sum())
    return 1.0 if union == 0 else int((a & b).sum()) / union


def decide(keyframe_mask: torch.Tensor, track_mask: torch.Tensor | None,
           agree_iou: float) -> tuple[KeyframeDecision, float]:
    """Choose how to use ``keyframe_mask`` (bool [H, W]) given the track's mask there.

    ``track_mask`` is the track's bool mask on the keyframe's frame (any size), ``None``
    if the object had no track on that frame. Returns the decision and the IoU (0 if none).
    """
    if not bool(keyframe_mask.any()):
        return KeyframeDecision.EMPTY, 0.0
    if track_mask is None:
        return KeyframeDecision.START, 0.0
    iou = mask_iou(keyframe_mask, track_mask.to(keyframe_mask.device))
    return (KeyframeDecision.AGREE if iou >= agree_iou else KeyframeDecision.DISAGREE), iou
