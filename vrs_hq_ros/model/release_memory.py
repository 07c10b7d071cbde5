"""Accelerator memory a loaded model needs, checked before it moves to the device.

Weights: the MLLM, projection and CLIP anchor in the compute dtype, SAM2 in float32 (``VRSHQ.to``
keeps it there). Working memory: a window's activations (11 frames x 112 tokens + text through
the LLM, SAM2 features of the window), budgeted as a fixed share of the weights plus a floor.
For the 7B release in bfloat16 this gives about 16 GiB (see docs/OFFICIAL_MODEL.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

logger = logging.getLogger(__name__)

ACTIVATION_SHARE = 0.15
ACTIVATION_FLOOR_BYTES = 1 << 30
GIB = float(1 << 30)


class DeviceMemoryError(RuntimeError):
    """The accelerator cannot hold the model."""


@dataclass
class MemoryEstimate:
    """Bytes of weights and the working-memory budget, in total."""

    weights: int
    working: int

    @property
    def total(self) -> int:
        """Weights + working memory."""
        return self.weights + self.working


def estimate_memory(model, dtype: torch.dtype) -> MemoryEstimate:
    """Bytes ``model`` (a ``VRSHQ``) needs on an accelerator in ``dtype``."""
    half = torch.finfo(dtype).bits // 8
    weights = 0
    for name, tensor in list(model.named_parameters()) + list(model.named_buffers()):
        if not tensor.is_floating_point():
            size = tensor.element_size()
        else:
            size = 4 if name.startswith("sam2.") else half
        weights += tensor.numel() * size
    working = max(int(weights * ACTIVATION_SHARE), ACTIVATION_FLOOR_BYTES)
    return MemoryEstimate(weights=weights, working=working)


def check_device_memory(model, device: torch.device | str, dtype: torch.dtype
                        ) -> MemoryEstimate:
    """Log the expected memory; raise ``DeviceMemoryError`` when a CUDA device cannot hold it."""
    device = torch.device(device)
    estimate = estimate_memory(model, dtype)
    logger.info("expected accelerator memory: %.1f GiB (weights %.1f GiB in %s, SAM2 float32; "
                "working %.1f GiB)", estimate.total / GIB, estimate.weights / GIB,
                str(dtype).removeprefix("torch."), estimate.working / GIB)
    if device.type != "cuda":
        return estimate
    free, total = torch.cuda.mem_get_info(device)
    if estimate.total > free:
        raise DeviceMemoryError(
            f"the model needs about {estimate.total / GIB:.1f} GiB on {device} but only "
            f"{free / GIB:.1f} of {total / GIB:.1f} GiB are free; use a larger GPU, "
            f"model.dtype bfloat16/float16, or free the device")
    return estimate
