"""Online SAM2 tracking on cached frame features, one bounded memory bank per object.

Every call runs SAM2's own ``SAM2Base.track_step`` (memory attention, prompt encoder + mask
decoder, memory encoder); this module only decides which memories it sees and keeps the
bank bounded. The image encoder never runs here: callers pass the frame's cached
``SAM2FrameFeatures``, so several objects share one encoding.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from sam2.modeling.sam2_base import SAM2Base

from vrs_hq_ros.model.hole_filling import fill_holes_in_mask_logits
from vrs_hq_ros.model.sam2_builder import letterbox_shape, unpad_mask_logits
from vrs_hq_ros.model.sam2_features import SAM2FrameFeatures
from vrs_hq_ros.tracking.batched_step import (
    batched_output_dict,
    expand_features,
    group_by_layout,
    shared_frame_attention,
    split_entries,
)
from vrs_hq_ros.tracking.memory_bank import MemoryEntry, MemoryLimits, ObjectMemory

logger = logging.getLogger(__name__)

# SAM2 compares frame indices with ``num_frames`` only to stop at the end of a finite video;
# a live stream has no end.
_UNBOUNDED_FRAMES = 2**62


class TrackerError(RuntimeError):
    """The tracker was asked for something SAM2 cannot do (e.g. track with no keyframe)."""


@dataclass(frozen=True)
class TrackerConfig:
    """Knobs of the online tracker.

    ``max_older_keyframes``: conditioning frames kept besides the newest keyframe (SAM2 reads
    all of them every frame, so this bounds both memory and per-frame cost).
    """

    max_older_keyframes: int = 2

    def __post_init__(self):
        if self.max_older_keyframes < 0:
            raise ValueError(f"max_older_keyframes must be >= 0, got {self.max_older_keyframes}")


@dataclass(frozen=True)
class TrackStep:
    """SAM2's answer for one object on one frame.

    ``mask_logits`` [S/4, S/4] low-resolution logits (> 0 = object), ``object_score_logit``
    > 0 when SAM2 judges the object visible.
    """

    frame_index: int
    mask_logits: torch.Tensor
    object_score_logit: float

    @property
    def visible(self) -> bool:
        """SAM2's object-score head says the object is in the frame."""
        return self.object_score_logit > 0.0


@dataclass(frozen=True)
class MaskMapping:
    """How masks move between camera frames and SAM2's square input of side S.

    ``padded``: the model letterboxes its input (longest side -> S, zeros bottom/right, the
    official VRS-HQ preprocessing), so masks are cropped to the image part before resizing;
    otherwise frames are stretched to S x S. ``fill_hole_area``: background holes of at most
    this many low-res pixels become foreground in outputs and in the keyframe's memory
    (SAM 2.0 video post-processing; 0 = off).
    """

    padded: bool = False
    fill_hole_area: int = 0

    @classmethod
    def of(cls, model: object) -> MaskMapping:
        """Return the settings a model asks for (``pad_to_square`` / ``fill_hole_area``)."""
        return cls(padded=bool(getattr(model, "pad_to_square", False)),
                   fill_hole_area=int(getattr(model, "fill_hole_area", 0)))

    def to_frame(self, mask_logits: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """Low-res logits [S/4, S/4] -> [height, width] (holes filled first, as SAM2 does)."""
        logits = fill_holes_in_mask_logits(mask_logits.float(), self.fill_hole_area)
        if not self.padded:
            return upscale_mask_logits(logits, height, width)
        size = 4 * logits.shape[-1]  # the official path: low-res -> S x S, crop, resize
        square = F.interpolate(logits[None, None], size=(size, size), mode="bilinear",
                               align_corners=False)[0, 0]
        return unpad_mask_logits(square, height, width)

    def to_sam2_input(self, mask: torch.Tensor, size: int) -> torch.Tensor:
        """Bool/float mask [H, W] -> binary float [1, 1, S, S] as ``add_new_mask`` feeds SAM2.

        An S x S mask is taken as already in SAM2's input frame.
        """
        mask = mask.float()[None, None]
        if mask.shape[-2:] == (size, size):
            return (mask >= 0.5).float()
        target = (size, size)
        if self.padded:
            target = letterbox_shape(mask.shape[-2], mask.shape[-1], size)
        mask = F.interpolate(mask, size=target, mode="bilinear", align_corners=False,
                             antialias=True)
        mask = (mask >= 0.5).float()
        return F.pad(mask, (0, size - target[1], 0, size - target[0]))


class OnlineTracker:
    """Conditions and steps ``ObjectMemory`` banks with a shared ``SAM2Base``.

    ``clip_length`` is the number of frames of a finite clip (offline mode, as SAM2's video
    predictor passes it); ``None`` for a live stream. ``mapping`` follows the model's SAM2
    input settings (``MaskMapping.of(model)``).
    """

    def __init__(self, sam2: SAM2Base, config: TrackerConfig = TrackerConfig(),
                 clip_length: int | None = None, mapping: MaskMapping = MaskMapping()):
        if sam2.training:
            raise TrackerError("SAM2 is in training mode; call .eval() before tracking "
                               "(training mode changes memory selection and adds dropout)")
        if sam2.memory_temporal_stride_for_eval != 1:
            raise TrackerError("the bounded memory bank assumes SAM2's memory stride of 1")
        self.sam2 = sam2
        self.config = config
        self.limits = MemoryLimits.of(sam2, config.max_older_keyframes)
        self._num_frames = _UNBOUNDED_FRAMES if clip_length is None else clip_length
        self.mapping = mapping

    def new_memory(self) -> ObjectMemory:
        """Return an empty bank with this tracker's limits."""
        return ObjectMemory(self.limits)

    @torch.inference_mode()
    def condition(self, memory: ObjectMemory, frame_index: int, mask: torch.Tensor,
                  features: SAM2FrameFeatures) -> TrackStep:
        """Add frame ``frame_index`` as a keyframe with ``mask`` (bool [H, W], frame or S x S).

        The mask is mapped to SAM2's input (``mapping``) and binarised as the video
        predictor's ``add_new_mask`` does; SAM2 then takes it as its output on that frame.
        Its memory is encoded as the video predictor does before propagating: from the
        low-res output (holes filled) upsampled to S x S and binarised.
        """
        size = self.sam2.image_size
        mask = mask.to(device=features.vision_feats[-1].device, dtype=torch.float32)
        if mask.ndim != 2:
            raise TrackerError(f"keyframe mask must be [H, W], got {list(mask.shape)}")
        mask_inputs = self.mapping.to_sam2_input(mask, size).to(features.vision_feats[-1].dtype)
        out = self.sam2.track_step(
            frame_idx=frame_index, is_init_cond_frame=True,
            current_vision_feats=features.vision_feats,
            current_vision_pos_embeds=features.vision_pos_embeds,
            feat_sizes=features.feat_sizes, point_inputs=None, mask_inputs=mask_inputs,
            output_dict={"cond_frame_outputs": {}, "non_cond_frame_outputs": {}},
            num_frames=self._num_frames, run_mem_encoder=False)
        low_res = fill_holes_in_mask_logits(out["pred_masks"], self.mapping.fill_hole_area)
        high_res = F.interpolate(low_res.float(), size=(size, size), mode="bilinear",
                                 align_corners=False)
        out["maskmem_features"], out["maskmem_pos_enc"] = self.sam2._encode_new_memory(
            current_vision_feats=features.vision_feats, feat_sizes=features.feat_sizes,
            pred_masks_high_res=high_res, object_score_logits=out["object_score_logits"],
            is_mask_from_pts=True)
        memory.add_keyframe(MemoryEntry.from_track_step(frame_index, out))
        return _to_step(frame_index, out)

    @torch.inference_mode()
    def step(self, memory: ObjectMemory, frame_index: int,
             features: SAM2FrameFeatures) -> TrackStep:
        """Track one object into frame ``frame_index`` (after every frame in its memory)."""
        if not memory.has_keyframe:
            raise TrackerError("cannot track an object that has no keyframe yet")
        out = self.sam2.track_step(
            frame_idx=frame_index, is_init_cond_frame=False,
            current_vision_feats=features.vision_feats,
            current_vision_pos_embeds=features.vision_pos_embeds,
            feat_sizes=features.feat_sizes, point_inputs=None, mask_inputs=None,
            output_dict=memory.as_sam2_output_dict(), num_frames=self._num_frames,
            run_mem_encoder=True)
        memory.add_frame(MemoryEntry.from_track_step(frame_index, out))
        return _to_step(frame_index, out)

    @torch.inference_mode()
    def step_many(self, memories: Sequence[ObjectMemory], frame_index: int,
                  features: SAM2FrameFeatures) -> list[TrackStep]:
        """``step`` every bank into frame ``frame_index``: one SAM2 call per memory layout.

        Returns one step per bank, in order; equal to stepping each alone up to float
        rounding (see ``batched_step``).
        """
        steps: list[TrackStep | None] = [None] * len(memories)
        expanded: dict[int, SAM2FrameFeatures] = {}  # once per frame and group size
        for group in group_by_layout(memories):
            if len(group) == 1:
                steps[group[0]] = self.step(memories[group[0]], frame_index, features)
                continue
            banks = [memories[i] for i in group]
            if not banks[0].has_keyframe:
                raise TrackerError("cannot track an object that has no keyframe yet")
            batch = expanded.setdefault(len(group), expand_features(features, len(group)))
            with shared_frame_attention(self.sam2):
                out = self.sam2.track_step(
                    frame_idx=frame_index, is_init_cond_frame=False,
                    current_vision_feats=batch.vision_feats,
                    current_vision_pos_embeds=batch.vision_pos_embeds,
                    feat_sizes=batch.feat_sizes, point_inputs=None, mask_inputs=None,
                    output_dict=batched_output_dict(banks), num_frames=self._num_frames,
                    run_mem_encoder=True)
            entries = split_entries(frame_index, out)
            masks = out["pred_masks"][:, 0].float()
            for k, (i, bank, entry) in enumerate(zip(group, banks, entries, strict=True)):
                bank.add_frame(entry)
                steps[i] = TrackStep(frame_index=frame_index, mask_logits=masks[k],
                                     object_score_logit=entry.object_score_logit)
        return steps

    def recondition(self, memory: ObjectMemory, keyframe_index: int, mask: torch.Tensor,
                    keyframe_features: SAM2FrameFeatures,
                    later_frames: Iterable[tuple[int, SAM2FrameFeatures]],
                    keep_keyframes: bool) -> list[TrackStep]:
        """Condition on a (past) keyframe, then catch up through ``later_frames`` in order.

        Tracked-frame memories are always dropped: those after the keyframe were predicted
        without it, and keeping the ones before it would make the result depend on how late
        the keyframe arrived. ``keep_keyframes`` keeps the older conditioning frames (the new
        keyframe agrees with the track); otherwise the bank restarts from the keyframe.
        Returns the keyframe's step followed by one step per later frame.
        """
        memory.forget_tracked_frames()
        if not keep_keyframes:
            memory.reset()
        else:
            for index in [i for i in memory.keyframes if i >= keyframe_index]:
                del memory.keyframes[index]  # a newer keyframe is in the past of this one
        steps = [self.condition(memory, keyframe_index, mask, keyframe_features)]
        for index, features in later_frames:
            if index <= keyframe_index:
                raise TrackerError(f"catch-up frame {index} is not after keyframe "
                                   f"{keyframe_index}")
            steps.append(self.step(memory, index, features))
        return steps


def _to_step(frame_index: int, out: dict) -> TrackStep:
    return TrackStep(frame_index=frame_index, mask_logits=out["pred_masks"][0, 0].float(),
                     object_score_logit=float(out["object_score_logits"].flatten()[0]))


def upscale_mask_logits(mask_logits: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Low-res logits [h, w] -> [height, width], bilinear as SAM2's video predictor does."""
    return F.interpolate(mask_logits[None, None].float(), size=(height, width), mode="bilinear",
                         align_corners=False)[0, 0]
