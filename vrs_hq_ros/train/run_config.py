"""The run config of ``vrs-hq train``: model sizes, data, curriculum stages (one YAML file)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vrs_hq_ros.model.config import LlavaBackboneConfig, SAM2Config, VRSHQConfig
from vrs_hq_ros.train.curriculum import STAGES, TRACK_FRAMES

TRAIN_SEEDS, VAL_SEEDS, TEST_SEEDS = 0, 1_000_000, 2_000_000  # first seed of each split


class RunConfigError(ValueError):
    """The run config file is missing a field or holds a bad value (the message says which)."""


@dataclass(frozen=True)
class StageConfig:
    """One curriculum stage: its kind, length and learning rate.

    ``distill_weight`` applies to ``language`` (pull TAK' towards the look token).
    ``warmup_steps``: the learning rate rises linearly from 0 over the stage's first steps.
    Without it a from-scratch SAM2 decoder learns to ignore its prompt within ~15 steps
    (docs/TRAINING.md). ``contrast_weight``: weight of the prompt-contrastive terms (each
    foreground pixel classified among the scene's objects in ``segment``; TAK' classified
    among the scene's look tokens in ``language``). ``reasoning_share`` applies to ``words``:
    the share of its steps on reasoning sentences, which read T' frames (data config) since
    their answer depends on motion and time; referring ones read two, or T' for a
    ``referring_window_share`` of them (inference reads T': a ``words`` stage that mixes in
    reasoning on T' frames but shows referring sentences only on two lost referring accuracy
    at T', docs/TRAINING.md). ``reset_memory``:
    re-initialise SAM2's memory encoder and memory attention when the stage starts (a memory
    attention trained with the earlier stages' short propagation had saturated on a few tokens
    and no longer learnt; docs/TRAINING.md). ``keyframe_mask_share`` (``track``): share of
    keyframes conditioned on the object's mask (the inference path) rather than its look token.
    ``train_looks`` (``segment``): whether the look tokens train too; a later ``segment`` stage
    keeps them fixed so that the MLLM's TAK', already pulled towards them, still fits.
    ``look_map_weight`` (``segment``): weight of the dense look supervision of SAM2's image
    features (``LookMaps``; the encoder otherwise learnt colour but not shape,
    docs/TRAINING.md). ``short_prompt_share`` (``words``, ``language``): share of steps on
    the bare prompt (``prompt.build_conversation(short=True)``, no system prompt or template
    words): a from-scratch LLM does not learn to carry the sentence through the ~40
    template tokens to the [TAK] read position, but learns it in the bare form first and keeps
    it in the official one (docs/TRAINING.md). ``scenes_per_step`` (``segment``): with more
    than one, each step decodes every object on two frames of each of that many scenes, in
    one batch and without propagation (``segment_batch_losses``). ``segment_weight``
    (``track``, ``joint``): adds that weight of look-prompted, memory-less decoding of every
    object on two of the scene's frames; a mask-conditioned ``track`` stage without it trained
    the decoder on prompt-less frames only and it stopped following its prompt (docs/TRAINING.md).
    ``partial_look_share`` (batched ``segment``; ``track`` / ``joint`` with ``segment_weight``):
    share of objects also decoded from the look token of the attributes a referring sentence
    would name (``segment_batch_losses``); the MLLM is taught those partial tokens.
    ``freeze_memory`` (``joint``): SAM2's memory encoder and memory attention stay as ``track``
    left them (the paper's loss propagates from a TAK'-prompted keyframe, inference from a mask).
    ``track_weight`` (``joint``): adds that weight of ``track`` losses (mask keyframes, pixel
    contrast by ``contrast_weight``) so that tuning the decoder to TAK' keeps it tracking.
    ``track_frames`` (``track``, and ``joint`` with ``track_weight``): consecutive frames each
    object is tracked over; inference tracks whole clips with a full memory bank (7 entries),
    which 4 frames never fill (tracking J then fell with the distance from the keyframe,
    docs/TRAINING.md). ``freeze_decoder`` (``track``, ``joint``): SAM2's prompt encoder and mask
    decoder stay as they are (what they learnt to answer TAK' is kept).
    ``scenes_per_step`` (``words``): with more than one, each step reads that many scenes and
    ``sentences_per_scene`` sentences of each, every one over its own frames, in one batch
    (``words_batch.words_batch_losses``). ``named_teacher`` (``words``): the teacher token of a
    referring sentence sums the attributes it names; off, it is the target's full look (what
    a decoder trained without ``partial_look_share`` answers). ``train_sam2`` (``segment``):
    off, only the look tables train, fitting teacher tokens to an already trained decoder.
    ``naming_share`` (batched ``words``): share of scenes drawn with one object and asked for
    with a sentence that names nothing ("the object"); the teacher is its full look, which only
    the frames tell (text-only answers otherwise teach the MLLM to ignore them,
    docs/TRAINING.md). ``tower``: a stage that trains only the MLLM's vision tower, each
    patch token classifying the look of the object under it and regressing its place and
    motion (``tower_looks``), on three frames of each of ``scenes_per_step`` scenes.
    ``train_tower`` (``words``, ``language``, ``joint``): off, the vision tower stays as a
    ``tower`` stage left it. ``attend_weight`` (batched ``words``): weight of a term that
    teaches the first ``attend_heads`` heads of the LLM layers ``attend_layers`` to attend, from
    the [TAK] read position, to the target's visual tokens (docs/TRAINING.md, "Teaching [TAK]
    where to look").
    """

    name: str
    steps: int
    lr: float
    distill_weight: float = 0.0
    warmup_steps: int = 0
    contrast_weight: float = 0.0
    final_lr_fraction: float = 1.0
    reasoning_share: float = 0.0
    referring_window_share: float = 0.0
    reset_memory: bool = False
    keyframe_mask_share: float = 0.5
    train_looks: bool = True
    look_map_weight: float = 0.0
    short_prompt_share: float = 0.0
    scenes_per_step: int = 1
    segment_weight: float = 0.0
    partial_look_share: float = 0.0
    freeze_memory: bool = False
    track_weight: float = 0.0
    track_frames: int = TRACK_FRAMES
    freeze_decoder: bool = False
    sentences_per_scene: int = 1
    named_teacher: bool = True
    train_sam2: bool = True
    naming_share: float = 0.0
    train_tower: bool = True
    attend_weight: float = 0.0
    attend_layers: tuple[int, ...] = (1, 2)
    attend_heads: int = 2

    def lr_at(self, step_in_stage: int) -> float:
        """Learning rate of the stage's ``step_in_stage``-th step (0-based).

        Linear warm-up over ``warmup_steps``, then a cosine from ``lr`` down to
        ``lr * final_lr_fraction`` at the stage's end (1.0: constant).
        """
        if step_in_stage < self.warmup_steps:
            return self.lr * (step_in_stage + 1) / self.warmup_steps
        span = max(1, self.steps - self.warmup_steps)
        progress = min(1.0, (step_in_stage - self.warmup_steps) / span)
        floor = self.lr * self.final_lr_fraction
        return floor + (self.lr - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    def __post_init__(self):
        if self.name not in STAGES:
            raise RunConfigError(f"stage name must be one of {STAGES}, got {self.name!r}")
        if self.steps < 0 or self.lr <= 0:
            raise RunConfigError(f"stage {self.name}: steps >= 0 and lr > 0 required")
        if self.warmup_steps < 0 or self.contrast_weight < 0 or self.look_map_weight < 0:
            raise RunConfigError(f"stage {self.name}: warmup_steps, contrast_weight and "
                                 "look_map_weight must be >= 0")
        if self.look_map_weight > 0 and self.name != "segment":
            raise RunConfigError(f"stage {self.name}: look_map_weight applies to segment only")
        if self.scenes_per_step < 1 or (self.scenes_per_step > 1
                                        and self.name not in ("segment", "words", "tower")):
            raise RunConfigError(f"stage {self.name}: scenes_per_step must be >= 1, and above "
                                 "1 only for segment, words and tower")
        if not self.train_tower and self.name not in ("words", "language", "joint"):
            raise RunConfigError(f"stage {self.name}: train_tower off applies to words, "
                                 "language and joint only")
        if self.sentences_per_scene < 1 or (self.sentences_per_scene > 1 and not (
                self.name == "words" and self.scenes_per_step > 1)):
            raise RunConfigError(f"stage {self.name}: sentences_per_scene must be >= 1, and "
                                 "above 1 only for words with scenes_per_step > 1")
        if not self.named_teacher and self.name != "words":
            raise RunConfigError(f"stage {self.name}: named_teacher applies to words only")
        if not self.train_sam2 and (self.name != "segment" or not self.train_looks):
            raise RunConfigError(f"stage {self.name}: train_sam2 off applies to segment with "
                                 "train_looks only")
        if self.segment_weight < 0 or (self.segment_weight > 0
                                       and self.name not in ("track", "joint")):
            raise RunConfigError(f"stage {self.name}: segment_weight must be >= 0, and above 0 "
                                 "only for track and joint")
        if self.short_prompt_share > 0 and self.name not in ("words", "language"):
            raise RunConfigError(f"stage {self.name}: short_prompt_share applies to words and "
                                 "language only")
        if self.track_weight < 0 or (self.track_weight > 0 and self.name != "joint"):
            raise RunConfigError(f"stage {self.name}: track_weight must be >= 0, and above 0 "
                                 "only for joint")
        if self.partial_look_share > 0 and not (
                (self.name == "segment" and self.scenes_per_step > 1)
                or (self.name in ("track", "joint") and self.segment_weight > 0)):
            raise RunConfigError(f"stage {self.name}: partial_look_share applies to segment "
                                 "with scenes_per_step > 1 and track / joint with "
                                 "segment_weight only")
        if self.freeze_memory and self.name != "joint":
            raise RunConfigError(f"stage {self.name}: freeze_memory applies to joint only")
        if self.freeze_decoder and self.name not in ("track", "joint"):
            raise RunConfigError(f"stage {self.name}: freeze_decoder applies to track and "
                                 "joint only")
        if self.track_frames < 2 or (self.track_frames != TRACK_FRAMES and not (
                self.name == "track" or (self.name == "joint" and self.track_weight > 0))):
            raise RunConfigError(f"stage {self.name}: track_frames must be >= 2, and set only "
                                 "for track and joint with track_weight")
        if self.naming_share > 0 and not (self.name == "words" and self.scenes_per_step > 1):
            raise RunConfigError(f"stage {self.name}: naming_share applies to words with "
                                 "scenes_per_step > 1 only")
        for share in ("reasoning_share", "referring_window_share", "keyframe_mask_share",
                      "short_prompt_share", "partial_look_share", "naming_share"):
            if not 0 <= getattr(self, share) <= 1:
                raise RunConfigError(f"stage {self.name}: {share} must be in [0, 1]")
        if not 0 < self.final_lr_fraction <= 1:
            raise RunConfigError(f"stage {self.name}: final_lr_fraction must be in (0, 1]")
        if self.attend_weight < 0 or (self.attend_weight > 0 and not (
                self.name == "words" and self.scenes_per_step > 1)):
            raise RunConfigError(f"stage {self.name}: attend_weight must be >= 0, and above 0 "
                                 "only for words with scenes_per_step > 1")
        if self.attend_heads < 1 or not self.attend_layers or min(self.attend_layers) < 0:
            raise RunConfigError(f"stage {self.name}: attend_heads >= 1 and a non-empty list "
                                 "of attend_layers >= 0 required")
        object.__setattr__(self, "attend_layers", tuple(self.attend_layers))


@dataclass(frozen=True)
class DataConfig:
    """Synthetic scenes: frame side, clip length range, T' range, reasoning share."""

    size_px: int = 128
    frames_min: int = 20
    frames_max: int = 32
    sampled_min: int = 8  # T' (official: 8-12)
    sampled_max: int = 12
    reasoning_share: float = 0.5
    jpeg_quality_min: int = 75  # JPEG round trip (the benchmark layout stores JPEG)


@dataclass(frozen=True)
class ModelSizes:
    """Sizes of the tiny VRS-HQ built from scratch."""

    sam2_image_size: int = 128
    sam2_embed_dim: int = 32
    sam2_trunk: str = "hiera"  # "conv": SAM2Config.trunk (a deviation, docs/TRAINING.md)
    vision_image_size: int = 48
    vision_patch_size: int = 8
    vision_hidden_size: int = 64
    vision_layers: int = 2
    text_hidden_size: int = 128
    text_layers: int = 4
    text_heads: int = 4
    text_intermediate_size: int = 256
    vocab_size: int = 1024
    # LlavaBackboneConfig: temporal patches (frame + difference to the next sampled frame) and
    # a sine-cosine initialisation of the tower's position embeddings (deviations, toy only)
    vision_frame_pairs: bool = False
    vision_sincos_positions: bool = False
    image_token_norm: bool = False  # LlavaBackboneConfig.image_token_norm (a deviation)
    vision_frame_times: bool = False  # LlavaBackboneConfig.vision_frame_times (a deviation)
    # False: SAM2's memory attention reads only spatial memories (SAM2Config)
    sam2_object_pointers: bool = True

    def vrshq_config(self) -> VRSHQConfig:
        """Return the ``VRSHQConfig`` of these sizes."""
        config = VRSHQConfig.tiny(image_size=self.sam2_image_size)
        config.sam2 = SAM2Config.tiny_random(self.sam2_image_size)
        config.sam2 = SAM2Config(**{**asdict(config.sam2), "embed_dim": self.sam2_embed_dim,
                                    "trunk": self.sam2_trunk,
                                    "use_obj_ptrs_in_encoder": self.sam2_object_pointers})
        config.backbone = LlavaBackboneConfig(
            vision_image_size=self.vision_image_size, vision_patch_size=self.vision_patch_size,
            vision_hidden_size=self.vision_hidden_size, vision_layers=self.vision_layers,
            vision_heads=2, vision_intermediate_size=2 * self.vision_hidden_size,
            text_hidden_size=self.text_hidden_size, text_layers=self.text_layers,
            text_heads=self.text_heads, text_intermediate_size=self.text_intermediate_size,
            text_initializer_range=self.text_hidden_size ** -0.5,
            vision_frame_pairs=self.vision_frame_pairs,
            vision_sincos_positions=self.vision_sincos_positions,
            image_token_norm=self.image_token_norm,
            vision_frame_times=self.vision_frame_times)
        return config


@dataclass(frozen=True)
class RunConfig:
    """Everything a training run needs; ``seed`` fixes init and data order."""

    stages: tuple[StageConfig, ...]
    model: ModelSizes = field(default_factory=ModelSizes)
    data: DataConfig = field(default_factory=DataConfig)
    seed: int = 0
    checkpoint_every: int = 500
    keep_checkpoints: int = 2
    log_every: int = 50
    eval_clips: int = 60  # validation expressions scored at the end of each stage
    threads: int = 0  # torch threads; 0 = all cores
    device: str = "cpu"  # "cuda" trains on a GPU (the checkpoints load on any device)
    data_workers: int = 0  # processes drawing batched ``words`` steps ahead (0: in the loop)
    # a saved model folder (``VRSHQ.save_pretrained``) whose weights start the run: all of it
    # (its sizes and tokenizer; ``model`` is then unused), or with ``init_parts: [sam2]`` its
    # SAM2 only, the MLLM built from ``model`` with that folder's tokenizer
    init_from: str | None = None
    init_parts: tuple[str, ...] = ("sam2", "backbone", "projection")

    @property
    def total_steps(self) -> int:
        """Steps over all stages."""
        return sum(s.steps for s in self.stages)

    def stage_at(self, step: int) -> tuple[int, StageConfig, int]:
        """(stage index, stage, step within the stage) of global ``step``."""
        for index, stage in enumerate(self.stages):
            if step < stage.steps:
                return index, stage, step
            step -= stage.steps
        raise RunConfigError(f"step {step} is past the last stage")

    @classmethod
    def from_yaml(cls, path: str | Path) -> RunConfig:
        """Read the YAML run config (sections: model, data, stages, and top-level knobs)."""
        path = Path(path)
        if not path.is_file():
            raise RunConfigError(f"run config not found: {path}")
        raw = yaml.safe_load(path.read_text()) or {}
        return cls.from_dict(raw, str(path))

    @classmethod
    def from_dict(cls, raw: dict[str, Any], where: str = "run config") -> RunConfig:
        """Build from plain data; unknown or bad fields raise ``RunConfigError``."""
        try:
            stages = tuple(StageConfig(**s) for s in raw.get("stages", ()))
            if not stages:
                raise RunConfigError("at least one stage is needed")
            rest = {k: v for k, v in raw.items() if k not in ("stages", "model", "data")}
            if "init_parts" in rest:
                rest["init_parts"] = tuple(rest["init_parts"])
            config = cls(stages=stages, model=ModelSizes(**raw.get("model", {})),
                         data=DataConfig(**raw.get("data", {})), **rest)
        except TypeError as exc:  # unknown keys
            raise RunConfigError(f"{where}: {exc}") from exc
        if config.data_workers < 0 or config.device.split(":")[0] not in ("cpu", "cuda"):
            raise RunConfigError(f"{where}: data_workers must be >= 0 and device cpu or cuda")
        if set(config.init_parts) not in ({"sam2", "backbone", "projection"}, {"sam2"}):
            raise RunConfigError(f"{where}: init_parts must be [sam2, backbone, projection] "
                                 f"or [sam2], got {list(config.init_parts)}")
        return config

    def to_dict(self) -> dict[str, Any]:
        """Plain data (what is written next to checkpoints)."""
        return asdict(self)
