"""Bounded per-object SAM2 memory: exactly what ``SAM2Base`` reads when it tracks one frame.

SAM2's memory attention on frame t reads (eval mode, temporal stride 1):

- every conditioning frame (keyframes given as masks), with temporal position 0;
- the spatial memories of the ``num_maskmem - 1`` frames before t;
- object pointers of the conditioning frames and of up to ``max_obj_ptrs_in_encoder - 1``
  frames before t.

``ObjectMemory`` keeps those and nothing else, so its size stops growing after
``max_obj_ptrs_in_encoder`` frames. Conditioning frames follow one policy: the newest
keyframe plus at most ``max_older_keyframes`` older ones (the oldest go first).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Optional

import torch


@dataclass(frozen=True)
class MemoryEntry:
    """SAM2's memory of one frame for one object (batch of 1).

    ``maskmem_features`` [1, C_mem, h, w] and ``maskmem_pos_enc`` [1, C_mem, h, w] are the
    memory encoder's output (``None`` once only the pointer is kept); ``obj_ptr`` [1, 256].
    """

    frame_index: int
    obj_ptr: torch.Tensor
    object_score_logit: float
    maskmem_features: Optional[torch.Tensor] = None
    maskmem_pos_enc: Optional[torch.Tensor] = None

    @classmethod
    def from_track_step(cls, frame_index: int, out: dict[str, Any]) -> MemoryEntry:
        """Keep the memory fields of ``SAM2Base.track_step``'s output, drop the masks."""
        return cls(frame_index=frame_index, obj_ptr=out["obj_ptr"],
                   object_score_logit=float(out["object_score_logits"].flatten()[0]),
                   maskmem_features=out["maskmem_features"],
                   maskmem_pos_enc=out["maskmem_pos_enc"][-1])

    def pointer_only(self) -> MemoryEntry:
        """Return this entry without its spatial memory (what old frames keep)."""
        return MemoryEntry(self.frame_index, self.obj_ptr, self.object_score_logit)

    def as_sam2_output(self) -> dict[str, Any]:
        """Return the per-frame dict ``SAM2Base._prepare_memory_conditioned_features`` reads."""
        out: dict[str, Any] = {"obj_ptr": self.obj_ptr}
        if self.maskmem_features is not None:
            out["maskmem_features"] = self.maskmem_features
            out["maskmem_pos_enc"] = [self.maskmem_pos_enc]
        return out


@dataclass(frozen=True)
class MemoryLimits:
    """Bank sizes: taken from the SAM2 model plus the keyframe policy."""

    spatial_frames: int  # num_maskmem - 1
    pointer_frames: int  # max_obj_ptrs_in_encoder - 1
    max_older_keyframes: int  # conditioning frames kept besides the newest keyframe

    @classmethod
    def of(cls, sam2, max_older_keyframes: int) -> MemoryLimits:
        """Limits of ``sam2`` (a ``SAM2Base``)."""
        return cls(spatial_frames=max(sam2.num_maskmem - 1, 0),
                   pointer_frames=max(sam2.max_obj_ptrs_in_encoder - 1, 0),
                   max_older_keyframes=max_older_keyframes)


class ObjectMemory:
    """One object's bounded memory bank (see the module docstring for what it holds)."""

    def __init__(self, limits: MemoryLimits):
        self.limits = limits
        self.keyframes: dict[int, MemoryEntry] = {}  # frame index -> entry, oldest first
        self._spatial: deque[MemoryEntry] = deque(maxlen=limits.spatial_frames)
        self._pointers: deque[MemoryEntry] = deque(maxlen=limits.pointer_frames)

    def copy(self) -> ObjectMemory:
        """Return a new bank sharing the (immutable) entries, for work on another thread."""
        other = ObjectMemory(self.limits)
        other.keyframes = dict(self.keyframes)
        other._spatial.extend(self._spatial)
        other._pointers.extend(self._pointers)
        return other

    @property
    def has_keyframe(self) -> bool:
        """Whether SAM2 can track from this bank (it needs one conditioning frame)."""
        return bool(self.keyframes)

    @property
    def newest_keyframe_index(self) -> Optional[int]:
        """Frame index of the newest conditioning frame, ``None`` before the first."""
        return max(self.keyframes) if self.keyframes else None

    def add_keyframe(self, entry: MemoryEntry) -> None:
        """Make ``entry`` a conditioning frame; drop the oldest beyond the policy."""
        self.keyframes[entry.frame_index] = entry
        self.keyframes = dict(sorted(self.keyframes.items()))
        while len(self.keyframes) > 1 + self.limits.max_older_keyframes:
            del self.keyframes[next(iter(self.keyframes))]

    def add_frame(self, entry: MemoryEntry) -> None:
        """Remember a tracked (non-conditioning) frame; the oldest fall out of the deques."""
        self._spatial.append(entry)
        self._pointers.append(entry.pointer_only())

    def forget_tracked_frames(self) -> None:
        """Drop every non-conditioning memory (used when the track is re-conditioned)."""
        self._spatial.clear()
        self._pointers.clear()

    def reset(self) -> None:
        """Drop everything, keyframes included."""
        self.keyframes.clear()
        self.forget_tracked_frames()

    def layout(self) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """Frame indices of (keyframes, spatial memories, pointers): what SAM2 reads, by frame.

        Banks with the same layout can be stepped in one batched ``track_step``.
        """
        return (tuple(self.keyframes), tuple(e.frame_index for e in self._spatial),
                tuple(e.frame_index for e in self._pointers))

    def num_entries(self) -> tuple[int, int, int]:
        """(keyframes, spatial memories, object pointers) held now."""
        return len(self.keyframes), len(self._spatial), len(self._pointers)

    def tensors(self) -> list[torch.Tensor]:
        """Every tensor the bank holds (distinct objects), for memory accounting."""
        seen: dict[int, torch.Tensor] = {}
        for entry in [*self.keyframes.values(), *self._spatial, *self._pointers]:
            for t in (entry.obj_ptr, entry.maskmem_features, entry.maskmem_pos_enc):
                if t is not None:
                    seen[id(t)] = t
        return list(seen.values())

    def as_sam2_output_dict(self) -> dict[str, dict[int, dict[str, Any]]]:
        """Return the ``output_dict`` ``SAM2Base.track_step`` expects, built from this bank.

        Pointer-only entries are always older than every spatial memory, so SAM2 never asks
        them for spatial features (it reads spatial memory only for the last
        ``num_maskmem - 1`` frames, which are all in the spatial deque).
        """
        non_cond = {e.frame_index: e.as_sam2_output() for e in self._pointers}
        non_cond.update({e.frame_index: e.as_sam2_output() for e in self._spatial})
        return {
            "cond_frame_outputs": {i: e.as_sam2_output() for i, e in self.keyframes.items()},
            "non_cond_frame_outputs": non_cond,
        }
