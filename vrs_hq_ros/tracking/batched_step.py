"""Step several objects on one frame with one ``SAM2Base.track_step`` call per memory layout.

SAM2's memory attention picks which memory frames to read, and their temporal encodings, from
frame indices once per call, not per object (``_prepare_memory_conditioned_features``); as in
``SAM2VideoPredictor``, one call can therefore hold only objects whose banks hold the same
frames. Objects are grouped by ``ObjectMemory.layout()`` (goals grounded by the same run share
keyframes, and every object tracked on every frame shares the recent frames), each group's
memories are concatenated along the batch dimension, and the frame's features are expanded
once per group size. Results equal stepping each object alone, up to float rounding.

The first memory-attention layer's self-attention sees only the frame's own features, the
same for every object of a batch; ``shared_frame_attention`` runs it once per batch.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from sam2.modeling.sam2_base import SAM2Base

from vrs_hq_ros.model.sam2_features import SAM2FrameFeatures
from vrs_hq_ros.tracking.memory_bank import MemoryEntry, ObjectMemory

OutputDict = dict[str, dict[int, dict[str, Any]]]


def group_by_layout(memories: Sequence[ObjectMemory]) -> list[list[int]]:
    """Positions of ``memories`` grouped by identical layout, in order of first appearance."""
    groups: dict[tuple, list[int]] = {}
    for position, memory in enumerate(memories):
        groups.setdefault(memory.layout(), []).append(position)
    return list(groups.values())


def batched_output_dict(memories: Sequence[ObjectMemory]) -> OutputDict:
    """One ``output_dict`` for banks of the same layout, entries stacked along the batch dim."""
    dicts = [m.as_sam2_output_dict() for m in memories]
    return {kind: {index: _stack([d[kind][index] for d in dicts]) for index in dicts[0][kind]}
            for kind in ("cond_frame_outputs", "non_cond_frame_outputs")}


def _stack(outputs: list[dict[str, Any]]) -> dict[str, Any]:
    stacked: dict[str, Any] = {"obj_ptr": torch.cat([o["obj_ptr"] for o in outputs])}
    if "maskmem_features" in outputs[0]:
        stacked["maskmem_features"] = torch.cat([o["maskmem_features"] for o in outputs])
        stacked["maskmem_pos_enc"] = [torch.cat([o["maskmem_pos_enc"][-1] for o in outputs])]
    return stacked


def expand_features(features: SAM2FrameFeatures, batch: int) -> SAM2FrameFeatures:
    """View the frame's features [HW, 1, C] as a batch of ``batch`` objects (no copy)."""
    return SAM2FrameFeatures(
        vision_feats=[f.expand(-1, batch, -1) for f in features.vision_feats],
        vision_pos_embeds=[p.expand(-1, batch, -1) for p in features.vision_pos_embeds],
        feat_sizes=features.feat_sizes)


def split_entries(frame_index: int, out: dict[str, Any]) -> list[MemoryEntry]:
    """Per-object memory entries of a batched ``track_step`` output.

    Cloned so that a bank never keeps a whole group's tensors alive (and memory accounting
    sees each object's own share).
    """
    scores = out["object_score_logits"].flatten(1)[:, 0].tolist()
    pos = out["maskmem_pos_enc"][-1]
    return [MemoryEntry(frame_index=frame_index, obj_ptr=out["obj_ptr"][i:i + 1].clone(),
                        object_score_logit=float(scores[i]),
                        maskmem_features=out["maskmem_features"][i:i + 1].clone(),
                        maskmem_pos_enc=pos[i:i + 1].clone())
            for i in range(len(scores))]


_identical_batch = threading.local()  # per thread: the worker's single steps are unaffected


@contextmanager
def shared_frame_attention(sam2: SAM2Base) -> Iterator[None]:
    """Within the block (this thread), compute layer 0's self-attention on batch item 0 only.

    Valid only while every batch item holds the same frame features, as in a batched step:
    layer 0's self-attention reads nothing but those. Forward hooks (installed once on the
    module, no-ops outside the block) keep SAM2's code and state dict untouched.
    """
    if not sam2.memory_attention.batch_first:  # the hooks slice the batch dimension 0
        yield
        return
    attention = sam2.memory_attention.layers[0].self_attn
    if not getattr(attention, "_vrs_hq_shared_hooks", False):
        attention.register_forward_pre_hook(_first_item_only, with_kwargs=True)
        attention.register_forward_hook(_expand_to_batch)
        attention._vrs_hq_shared_hooks = True
    _identical_batch.on = True
    try:
        yield
    finally:
        _identical_batch.on = False


def _first_item_only(module, args, kwargs):
    if not getattr(_identical_batch, "on", False):
        return None
    _identical_batch.size = args[0].size(0)  # batch first inside SAM2's memory attention
    return (tuple(a[:1] for a in args), {k: v[:1] for k, v in kwargs.items()})


def _expand_to_batch(module, args, output):
    if not getattr(_identical_batch, "on", False):
        return None
    return output.expand(_identical_batch.size, *output.shape[1:])
