"""What the engine needs from the model (``model.vrshq.VRSHQ`` satisfies it)."""

from __future__ import annotations

from typing import Optional, Protocol

import numpy as np
from sam2.modeling.sam2_base import SAM2Base

from vrs_hq_ros.model.sam2_features import SAM2FrameFeatures
from vrs_hq_ros.model.window_reasoning import WindowReasoning


class Reasoner(Protocol):
    """SAM2 shared with the tracker, per-frame encoding, and reasoning over a window."""

    sam2: SAM2Base

    def encode_frames(self, frames: list[np.ndarray]) -> list[SAM2FrameFeatures]:
        """RGB uint8 frames [H, W, 3] -> one ``SAM2FrameFeatures`` each."""
        ...

    def reason(self, frames: list[np.ndarray], sentence: str,
               features: Optional[list[SAM2FrameFeatures]] = None) -> WindowReasoning:
        """Ground ``sentence`` in the window; ``features`` are the frames' cached features."""
        ...
