"""Named errors of the evaluation tools: bad masks, datasets, bags and predictors."""

from __future__ import annotations


class EvalError(Exception):
    """Base of every evaluation error."""


class MaskShapeError(EvalError, ValueError):
    """A mask is not ``[H, W]`` / ``[T, H, W]``, or prediction and ground truth differ in shape."""


class DatasetFormatError(EvalError, ValueError):
    """A dataset folder does not follow the ReVOS / MeViS / Ref-DAVIS17 layout."""


class BagFormatError(EvalError, ValueError):
    """A rosbag2 lacks the topics, types or encodings the evaluation expects."""


class PredictorError(EvalError, RuntimeError):
    """A predictor returned the wrong number of masks or masks of the wrong size."""
