"""VRS-HQ: MLLM [SEG]/[TAK] tokens -> TDA -> TKS -> SAM2 keyframe mask, on one window."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from safetensors.torch import load_model, save_model
from torch import nn

from vrs_hq_ros.model.backbone import BackboneOutput, ReasoningBackbone
from vrs_hq_ros.model.clip_anchor import ClipAnchor
from vrs_hq_ros.model.config import VRSHQConfig
from vrs_hq_ros.model.hole_filling import fill_holes_in_mask_logits
from vrs_hq_ros.model.llava_backbone import LlavaBackbone
from vrs_hq_ros.model.projection import TokenProjection
from vrs_hq_ros.model.sam2_builder import (
    SAM2_PROMPT_DIM,
    FrameFormatError,
    build_sam2,
    check_frame,
    preprocess_frame,
    preprocess_frame_padded,
    unpad_mask_logits,
)
from vrs_hq_ros.model.sam2_features import SAM2FrameFeatures, encode_frames
from vrs_hq_ros.model.sam2_prompting import decode_with_token, resize_mask_logits
from vrs_hq_ros.model.tda import TDAResult, temporal_dynamic_aggregation
from vrs_hq_ros.model.tks import sample_around_anchor, select_keyframe
from vrs_hq_ros.model.window_reasoning import WindowReasoning

logger = logging.getLogger(__name__)

CONFIG_FILE = "vrshq_config.json"
WEIGHTS_FILE = "model.safetensors"
BACKBONE_DIR = "backbone"


class ModelFilesError(FileNotFoundError):
    """A saved model folder lacks a file or its weights do not fit the config."""


class FeatureCountError(ValueError):
    """Cached features were given for a different number of frames than the window."""


class VRSHQ(nn.Module):
    """The VRS-HQ model; ``sam2`` is the ``SAM2Base`` the tracker shares."""

    def __init__(self, config: VRSHQConfig, backbone: Optional[ReasoningBackbone] = None):
        super().__init__()
        self.config = config
        self.sam2 = build_sam2(config.sam2)
        self.backbone = backbone if backbone is not None else LlavaBackbone.build(config.backbone)
        self.projection = TokenProjection(self.backbone.hidden_size, SAM2_PROMPT_DIM)
        self.clip = ClipAnchor(config.clip)
        self.compute_dtype = torch.float32
        # Official inference settings a release turns on (release_loader): LISA-style letterbox
        # SAM2 input (the tracker crops it back, tracking.online_tracker.MaskMapping), SAM2's
        # small-hole filling of the keyframe and tracked masks (0 = off), and engine windows
        # handing the whole span to `reason` (official sampling around the CLIP anchor).
        self.pad_to_square = False
        self.fill_hole_area = 0
        self.official_window_sampling = False
        self.eval()  # inference by default; training code switches parts on explicitly

    def to(self, *args, **kwargs) -> VRSHQ:
        """Move to a device; a floating dtype applies to the MLLM, projection and CLIP.

        SAM2 keeps float32 weights (its prompt encoder mixes in float32 tensors) and runs under
        autocast with that dtype on CUDA, as SAM2's own predictor does.
        """
        device, dtype, non_blocking, _ = torch._C._nn._parse_to(*args, **kwargs)
        if device is not None:
            super().to(device=device, non_blocking=non_blocking)
        if dtype is not None:
            for part in (self.backbone, self.projection, self.clip):
                part.to(dtype=dtype)
            self.compute_dtype = dtype
        return self

    def sam2_autocast(self) -> contextlib.AbstractContextManager:
        """Autocast for SAM2 calls: on CUDA with a half dtype, else a no-op."""
        if self.device.type == "cuda" and self.compute_dtype in (torch.bfloat16, torch.float16):
            return torch.autocast("cuda", dtype=self.compute_dtype)
        return contextlib.nullcontext()

    @property
    def device(self) -> torch.device:
        """Device of SAM2's weights (the whole model is moved together)."""
        return self.sam2.no_mem_embed.device

    @property
    def image_size(self) -> int:
        """SAM2's square input side S."""
        return self.sam2.image_size

    def encode_frames(self, frames: list[np.ndarray]) -> list[SAM2FrameFeatures]:
        """RGB uint8 frames -> float32 SAM2 features, one per frame (what the engine caches)."""
        prepare = preprocess_frame_padded if self.pad_to_square else preprocess_frame
        images = torch.stack([prepare(rgb, self.image_size) for rgb in frames])
        with self.sam2_autocast():
            features = encode_frames(self.sam2, images.to(self.device))
        return [f.to(dtype=torch.float32) for f in features]

    def embed_tokens(self, frames: list[np.ndarray], sentence: str,
                     with_lm_loss: bool = False, question_variant: int = 0,
                     answer_variant: int = 0, short_prompt: bool = False
                     ) -> tuple[torch.Tensor, torch.Tensor, BackboneOutput]:
        """MLLM + projection: frames (T') + sentence -> seg [T', 256], tak [256] (float32).

        The prompt variants (official training templates) default to the inference text;
        ``short_prompt`` is the bare curriculum form (training only).
        """
        out = self.backbone(frames, sentence, with_lm_loss=with_lm_loss,
                            question_variant=question_variant, answer_variant=answer_variant,
                            short_prompt=short_prompt)
        seg, tak = self.project(out)
        return seg, tak, out

    def project(self, out: BackboneOutput) -> tuple[torch.Tensor, torch.Tensor]:
        """Project the backbone's [SEG]/[TAK] states: seg [T', 256], tak [256] (float32)."""
        proj_dtype = self.projection.mlp[0].weight.dtype
        seg = self.projection(out.seg_hidden.to(proj_dtype)).float()
        tak = self.projection(out.tak_hidden.to(proj_dtype)).float()
        return seg, tak

    def fuse(self, seg: torch.Tensor, tak: torch.Tensor) -> TDAResult:
        """TDA with the configured alpha."""
        return temporal_dynamic_aggregation(seg, tak, self.config.alpha,
                                            mean_pooling=self.config.tda_pooling == "mean")

    @torch.no_grad()
    def reason(self, frames: list[np.ndarray], sentence: str,
               features: Optional[list[SAM2FrameFeatures]] = None) -> WindowReasoning:
        """Ground ``sentence`` in a window of T frames and segment the chosen keyframe.

        ``features``, when given, are the cached SAM2 features of the same T frames.
        """
        _check_window(frames, features)
        timings: dict[str, float] = {}
        start = clock = self._clock()

        clip_probs = self.clip.frame_probabilities(frames, sentence).cpu()
        anchor = int(torch.argmax(clip_probs))
        sampled = sample_around_anchor(len(frames), anchor, self.config.tks.frame_budget)
        clock = self._lap(timings, "clip", clock)

        seg, tak, _ = self.embed_tokens([frames[i] for i in sampled], sentence)
        tda = self.fuse(seg, tak)
        clock = self._lap(timings, "mllm", clock)

        if features is None:
            candidate_feats = self.encode_frames([frames[i] for i in sampled])
        else:
            candidate_feats = [features[i].to(self.device, torch.float32) for i in sampled]
        clock = self._lap(timings, "sam2_encode", clock)

        with self.sam2_autocast():
            decoded = decode_with_token(self.sam2, candidate_feats, tda.tak_fused)
        clip_term = clip_probs[sampled] if self.config.tks.add_clip_score else None
        choice = select_keyframe(decoded.object_logits.cpu(), tda.weights.cpu(), clip_term)
        policy = self.config.tks.keyframe_policy  # ablations replace the TKS choice
        if policy != "tks":
            choice.position = sampled.index(anchor) if policy == "anchor" else 0
        height, width = frames[0].shape[:2]
        mask = self.keyframe_logits_to_frame(decoded, choice.position, height, width)
        clock = self._lap(timings, "sam2_decode", clock)
        timings["total"] = clock - start

        return WindowReasoning(
            sampled_indices=sampled, seg_embeddings=seg.cpu(), tak=tak.cpu(),
            tak_fused=tda.tak_fused.cpu(), tda_weights=tda.weights.cpu(), anchor_index=anchor,
            clip_probabilities=clip_probs, candidate_indices=list(sampled),
            candidate_scores=choice.scores, candidate_object_logits=decoded.object_logits.cpu(),
            keyframe_index=sampled[choice.position], keyframe_mask_logits=mask.float().cpu(),
            keyframe_object_logit=float(decoded.object_logits[choice.position]),
            timings_s=timings)

    def keyframe_logits_to_frame(self, decoded, position: int, height: int, width: int
                                 ) -> torch.Tensor:
        """Map one candidate's decoded logits to [height, width] with the model's settings."""
        logits = decoded.mask_logits[position]
        if self.fill_hole_area > 0:  # official: on the low-res logits, then upsampled
            low = fill_holes_in_mask_logits(decoded.low_res_logits[position], self.fill_hole_area)
            logits = torch.nn.functional.interpolate(
                low[None, None].float(), size=logits.shape[-2:], mode="bilinear",
                align_corners=False)[0, 0]
        if self.pad_to_square:
            return unpad_mask_logits(logits, height, width)
        return resize_mask_logits(logits, height, width)

    def _clock(self) -> float:
        if self.device.type == "cuda":  # kernels are async; time what ran, not what was queued
            torch.cuda.synchronize(self.device)
        return time.perf_counter()

    def _lap(self, timings: dict[str, float], name: str, since: float) -> float:
        now = self._clock()
        timings[name] = now - since
        return now

    def save_pretrained(self, directory: str | Path) -> None:
        """Write config JSON, backbone architecture + tokenizer, and all weights (safetensors).

        Weights from local checkpoints are baked into ``model.safetensors``, so the folder is
        self-contained. A LoRA-wrapped backbone must be merged first.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / CONFIG_FILE).write_text(json.dumps(self.config.to_dict(), indent=2))
        self.backbone.save(directory / BACKBONE_DIR)
        save_model(self, str(directory / WEIGHTS_FILE))
        logger.info("saved VRS-HQ to %s", directory)

    @classmethod
    def from_pretrained(cls, directory: str | Path, device: str | torch.device | None = None,
                        dtype: torch.dtype | None = None) -> VRSHQ:
        """Load a ``save_pretrained`` folder or the official release (local files only).

        A release is a merged ``VrshqForCausalLM`` folder (see ``release_loader``).
        """
        directory = Path(directory)
        from vrs_hq_ros.model.release_loader import is_release_dir, load_release

        if is_release_dir(directory):
            model = load_release(directory)
            if device is not None:
                model = model.to(device)
            return model.to(dtype) if dtype is not None else model
        for name in (CONFIG_FILE, WEIGHTS_FILE, BACKBONE_DIR):
            if not (directory / name).exists():
                raise ModelFilesError(f"{directory} has no {name}; not a VRS-HQ model folder")
        config = VRSHQConfig.from_dict(json.loads((directory / CONFIG_FILE).read_text()))
        # The saved weights replace everything, so skip the component checkpoints.
        config.sam2.checkpoint = None
        config.clip.checkpoint = None
        backbone = LlavaBackbone.load(config.backbone, directory / BACKBONE_DIR)
        model = cls(config, backbone=backbone)
        missing, unexpected = load_model(model, str(directory / WEIGHTS_FILE), strict=False)
        if missing or unexpected:
            raise ModelFilesError(f"{directory / WEIGHTS_FILE} does not fit the config: "
                                  f"missing {missing[:5]}, unexpected {unexpected[:5]}")
        model.eval()
        if device is not None:
            model = model.to(device)
        if dtype is not None:
            model = model.to(dtype)
        return model


def _check_window(frames: list[np.ndarray], features: Optional[list[SAM2FrameFeatures]]
                  ) -> None:
    if not frames:
        raise FrameFormatError("the window holds no frames")
    for rgb in frames:
        check_frame(rgb)
    if any(rgb.shape != frames[0].shape for rgb in frames):
        raise FrameFormatError("all frames of a window must have the same size")
    if features is not None and len(features) != len(frames):
        raise FeatureCountError(f"{len(features)} cached features for {len(frames)} frames")
