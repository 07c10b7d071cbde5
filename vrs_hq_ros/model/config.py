"""Configuration dataclasses of the VRS-HQ model and its components.

Every component has one config; ``VRSHQConfig`` nests them and round-trips through plain
dicts (JSON) with ``to_dict()`` / ``from_dict()``. ``VRSHQConfig.tiny()`` is the random tiny
model the tests use.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Optional


class ConfigError(ValueError):
    """A configuration value or dict is invalid."""


def _from_dict(cls, data: dict[str, Any]):
    """Build dataclass ``cls`` from ``data``, recursing into nested config dataclasses."""
    if not isinstance(data, dict):
        raise ConfigError(f"{cls.__name__} expects a dict, got {type(data).__name__}")
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} keys: {unknown}")
    kwargs = {}
    for name, value in data.items():
        nested = _NESTED.get((cls.__name__, name))
        if nested is not None and isinstance(value, dict):
            value = _from_dict(nested, value)
        elif isinstance(value, list):
            value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        kwargs[name] = value
    return cls(**kwargs)


@dataclass
class SAM2Config:
    """SAM2 (``SAM2Base``) architecture, built directly without hydra.

    Defaults follow ``configs/sam2.1/sam2.1_hiera_t.yaml`` (num_maskmem 7, object-score head,
    object pointers in the memory attention, high-res features in the decoder); the prompt
    dimension is always 256. ``checkpoint`` is a local ``.pt`` (official, loaded with
    ``weights_only=True``) or ``.safetensors`` file; ``None`` keeps the random init.
    """

    image_size: int = 1024
    # Image-encoder trunk: "hiera" (SAM2's) or "conv" (``ConvTrunk``, a deviation for tiny
    # models trained from scratch: their Hiera did not learn shape, docs/TRAINING.md). The
    # Hiera fields below size both: embed_dim and blocks per stage.
    trunk: str = "hiera"
    embed_dim: int = 96
    num_heads: int = 1
    stages: tuple[int, ...] = (1, 2, 7, 2)
    global_att_blocks: tuple[int, ...] = (5, 7, 9)
    window_spec: tuple[int, ...] = (8, 4, 14, 7)
    window_pos_embed_bkg_spatial_size: tuple[int, int] = (7, 7)
    # memory attention / memory encoder
    memory_attention_layers: int = 4
    memory_attention_ffn_dim: int = 2048
    memory_dim: int = 64
    memory_fuser_layers: int = 2
    num_maskmem: int = 7
    # "2.1" adds the spatial no-object embedding and signed, projected pointer time encodings.
    version: str = "2.1"
    # Binarised click masks in the memory encoder, as build_sam2_video_predictor sets it.
    video_postprocessing: bool = True
    # Multimask switches. The official VRS-HQ (build_sam.py) sets all four False: one mask per
    # prompt in the decoder and in tracking, the single-mask token for the object pointer, no
    # stability fallback. SAM2's own video predictor sets them True.
    multimask_output_in_sam: bool = False
    multimask_output_for_tracking: bool = False
    use_multimask_token_for_obj_ptr: bool = False
    dynamic_multimask_via_stability: bool = False
    # Object pointers as memory-attention tokens (official SAM2 and VRS-HQ: on). The tiny
    # from-scratch model turns them off (deviation, docs/TRAINING.md): trained with them, its
    # memory attention attended only to the pointer tokens, which carry no position, and
    # tracked "every shape" whatever mask it was given.
    use_obj_ptrs_in_encoder: bool = True
    checkpoint: Optional[str] = None

    def __post_init__(self):
        if self.image_size <= 0 or self.image_size % 32 != 0:
            raise ConfigError(f"SAM2 image_size must be a positive multiple of 32, "
                              f"got {self.image_size}")
        if self.version not in ("2.0", "2.1"):
            raise ConfigError(f"SAM2 version must be '2.0' or '2.1', got {self.version!r}")
        if self.trunk not in ("hiera", "conv"):
            raise ConfigError(f"SAM2 trunk must be 'hiera' or 'conv', got {self.trunk!r}")
        if len(self.stages) != 4 or len(self.window_spec) != 4:
            raise ConfigError("SAM2 Hiera needs 4 stages and 4 window sizes")
        if any(b >= sum(self.stages) for b in self.global_att_blocks):
            raise ConfigError(f"global_att_blocks {self.global_att_blocks} exceed the "
                              f"{sum(self.stages)} Hiera blocks")
        # Hiera cannot run global attention in a block that also pools its queries.
        pooling_blocks = {sum(self.stages[:i]) for i in range(1, 4)}
        if pooling_blocks & set(self.global_att_blocks):
            raise ConfigError(f"global_att_blocks {self.global_att_blocks} include a stage's "
                              f"first (query-pooling) block {sorted(pooling_blocks)}")

    @property
    def feature_size(self) -> int:
        """Side of the stride-16 (top-level) feature map."""
        return self.image_size // 16

    @classmethod
    def hiera_tiny(cls, image_size: int = 1024, **overrides) -> SAM2Config:
        """SAM 2.1 Hiera-T (the official ``sam2.1_hiera_t.yaml``)."""
        return cls(image_size=image_size, **overrides)

    @classmethod
    def hiera_large(cls, image_size: int = 1024, **overrides) -> SAM2Config:
        """SAM 2.x Hiera-L (the paper uses SAM 2.0 Hiera-L: pass ``version="2.0"``)."""
        values = dict(embed_dim=144, num_heads=2, stages=(2, 6, 36, 4),
                      global_att_blocks=(23, 33, 43), window_spec=(8, 4, 16, 8))
        values.update(overrides)
        return cls(image_size=image_size, **values)

    @classmethod
    def tiny_random(cls, image_size: int = 256) -> SAM2Config:
        """Return a very small random SAM2 for tests: narrow 4-block Hiera, one memory layer."""
        return cls(image_size=image_size, embed_dim=16, num_heads=1, stages=(1, 1, 2, 1),
                   global_att_blocks=(3,), memory_attention_layers=1,
                   memory_attention_ffn_dim=256, memory_fuser_layers=1)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SAM2Config:
        """Inverse of ``to_dict``."""
        return _from_dict(cls, data)


@dataclass
class LlavaBackboneConfig:
    """A LLaVA-style MLLM (CLIP vision tower + projector + LLaMA) from transformers.

    With ``pretrained_dir`` (a local Hugging Face LLaVA folder with its tokenizer) the sizes
    below are ignored; otherwise a random model of these sizes is built with a local
    byte-level tokenizer. ``dtype`` is the LLM's compute dtype ("float32", "bfloat16", ...).
    """

    vision_image_size: int = 32
    vision_patch_size: int = 8
    vision_hidden_size: int = 32
    vision_layers: int = 2
    vision_heads: int = 2
    vision_intermediate_size: int = 64
    text_hidden_size: int = 64
    text_layers: int = 2
    text_heads: int = 4
    text_intermediate_size: int = 128
    max_position_embeddings: int = 4096
    image_mean: tuple[float, float, float] = (0.48145466, 0.4578275, 0.40821073)
    image_std: tuple[float, float, float] = (0.26862954, 0.26130258, 0.27577711)
    pretrained_dir: Optional[str] = None
    dtype: str = "float32"
    # Std of the random LLaMA's weights; None keeps Hugging Face's 0.02 (sized for 4096-wide
    # models). A narrow model trained from scratch needs ~hidden**-0.5: with 0.02 its hidden
    # state at the [TAK] read position does not depend on the sentence (docs/TRAINING.md).
    text_initializer_range: Optional[float] = None
    # Temporal patches (a deviation for the from-scratch toy, Qwen2-VL-style tubelets): each
    # frame's patch embedding also reads the difference to the next sampled frame, so motion
    # is visible inside one visual token (a 48 px single-frame tower could not see it).
    vision_frame_pairs: bool = False
    # Initialise the random tower's position embeddings with a 2D sine-cosine table (MAE's
    # recipe) instead of noise, so "left", "right" and "top" are linear in them from the start.
    vision_sincos_positions: bool = False
    # Layer-normalise the projected visual tokens and scale them to the text embeddings' size
    # (a deviation for the from-scratch toy): the shipped toy's visual tokens had grown to
    # ~370x the norm of its word embeddings. Measured: this alone did not make its [TAK] state
    # depend on the frames again (docs/TRAINING.md, "Batched words on a lent GPU").
    image_token_norm: bool = False
    # Add to each frame's visual tokens a learnt embedding of where the frame sits in the
    # window (sine-cosine features of i / (T' - 1), a zero-initialised linear map; a deviation,
    # as video LLMs add temporal positions): otherwise a token tells its frame only through
    # RoPE distances, which shift with T' and the sentence, and "at the start" cannot be read.
    vision_frame_times: bool = False

    def __post_init__(self):
        if self.vision_image_size % self.vision_patch_size != 0:
            raise ConfigError("vision_image_size must be a multiple of vision_patch_size")
        if self.dtype not in ("float32", "bfloat16", "float16"):
            raise ConfigError(f"unsupported backbone dtype {self.dtype!r}")

    @property
    def tokens_per_image(self) -> int:
        """Patch tokens per frame (the CLS token is dropped, LLaVA's "default" strategy)."""
        return (self.vision_image_size // self.vision_patch_size) ** 2


@dataclass
class ClipAnchorConfig:
    """The open_clip model that scores frames against the sentence (TKS anchor).

    ``model_cfg`` (an open_clip architecture dict) overrides the built-in ``model_name``;
    ``checkpoint`` is a local weights file (``.safetensors`` or a tensors-only ``.pt``).
    The paper uses CLIP ViT-L/14 at 336 px.
    """

    model_name: str = "ViT-L-14-336"
    model_cfg: Optional[dict] = None
    checkpoint: Optional[str] = None
    # A local Hugging Face CLIPModel folder (e.g. openai/clip-vit-large-patch14-336, the
    # official anchor); when set it replaces the open_clip model.
    hf_dir: Optional[str] = None

    @classmethod
    def tiny_random(cls) -> ClipAnchorConfig:
        """Return a one-layer random CLIP (32 px images, 32-wide towers) for tests."""
        return cls(model_name="tiny-random-clip", model_cfg={
            "embed_dim": 32,
            "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16,
                           "head_width": 16},
            "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 32, "heads": 2,
                         "layers": 1},
        })


@dataclass
class TKSConfig:
    """Temporal Keyframe Selection: frame budget of the sampling rule, scoring switch.

    ``frame_budget`` = 11 gives the official ``step = ceil(T / 11)``. The official score is
    softmax(object logits) + TDA weights; ``add_clip_score`` also adds the CLIP frame
    probabilities (computed but unused in the official code).
    """

    frame_budget: int = 11
    add_clip_score: bool = False
    # "tks" (the paper); ablations: "anchor" (the CLIP anchor is the keyframe), "first" (the
    # earliest sampled frame is the keyframe).
    keyframe_policy: str = "tks"

    def __post_init__(self):
        if self.frame_budget < 1:
            raise ConfigError(f"frame_budget must be >= 1, got {self.frame_budget}")
        if self.keyframe_policy not in ("tks", "anchor", "first"):
            raise ConfigError(f"keyframe_policy must be tks, anchor or first, got "
                              f"{self.keyframe_policy!r}")


@dataclass
class LossConfig:
    """VRS-HQ loss: ce * CE(text) + bce * BCE(mask) + dice * Dice(mask), official weights."""

    ce_weight: float = 1.0
    bce_weight: float = 2.0
    dice_weight: float = 0.5
    dice_scale: float = 1000.0
    dice_eps: float = 1e-6
    # Frames supervised around the training keyframe (argmax TDA weight), reached by SAM2
    # propagation from it; the official training uses 3. 1 = the keyframe alone.
    clip_length: int = 3


@dataclass
class VRSHQConfig:
    """The whole model: SAM2, the reasoning backbone, CLIP anchor, TKS, TDA's alpha, loss."""

    sam2: SAM2Config = field(default_factory=SAM2Config)
    backbone: LlavaBackboneConfig = field(default_factory=LlavaBackboneConfig)
    clip: ClipAnchorConfig = field(default_factory=ClipAnchorConfig)
    tks: TKSConfig = field(default_factory=TKSConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    alpha: float = 0.1  # TDA: tak' = tak + alpha * sum_i w_i seg_i (README value)
    tda_pooling: str = "dynamic"  # "dynamic" (the paper) or "mean" (ablation: w_i = 1 / T')

    @classmethod
    def tiny(cls, image_size: int = 128) -> VRSHQConfig:
        """Return the random tiny model for tests and CPU benchmarks."""
        return cls(sam2=SAM2Config.tiny_random(image_size), backbone=LlavaBackboneConfig(),
                   clip=ClipAnchorConfig.tiny_random())

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (nested component dicts)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VRSHQConfig:
        """Inverse of ``to_dict``; missing sections keep their defaults."""
        return _from_dict(cls, data)


# (owner class name, field name) -> nested config class, for from_dict.
_NESTED: dict[tuple[str, str], type] = {
    ("VRSHQConfig", "sam2"): SAM2Config,
    ("VRSHQConfig", "backbone"): LlavaBackboneConfig,
    ("VRSHQConfig", "clip"): ClipAnchorConfig,
    ("VRSHQConfig", "tks"): TKSConfig,
    ("VRSHQConfig", "loss"): LossConfig,
}
