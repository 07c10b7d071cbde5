"""The fine-tuning run config (``config/finetune.yaml``): typed sections read from one YAML file.

Defaults are the official recipe (VRS-HQ ``train.py``): LoRA r 8 / alpha 16 / dropout 0.05 on
q_proj, v_proj; AdamW lr 3e-4, betas (0.9, 0.95), no weight decay; linear warm-up over 100
steps then linear decay; gradient clipping 1.0; batch 1 x accumulation 32 per GPU; bf16;
gradient checkpointing; T' in [8, 12].
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from vrs_hq_ros.train.datasets import TrainingDataError


class FinetuneConfigError(TrainingDataError):
    """The run config is missing, not YAML, or has an unknown / ill-typed key."""


@dataclass
class DataSetSpec:
    """One training set; ``rate`` is its relative sampling weight in the mix.

    ``kind``: revos, mevis, bag (``vrs-hq convert`` output), davis, ref_youtube_vos, synthetic,
    refcoco, refcoco+, refcocog, refclef, reasonseg.
    """

    kind: str
    root: Optional[str] = None
    name: Optional[str] = None
    rate: float = 1.0
    meta: Optional[str] = None  # mask_dict layouts: meta_expressions file name
    split: str = "train"
    images_dir: Optional[str] = None  # refer layout: override of the COCO image folder
    # synthetic only
    num_clips: int = 10000
    size: int = 128
    clip_frames: int = 16
    seed: int = 0

    @property
    def label(self) -> str:
        """Name in logs and errors."""
        return self.name or self.kind


@dataclass
class DataConfig:
    """The training mix and how clips are cut."""

    sets: list[DataSetSpec] = field(default_factory=list)
    frames_min: int = 8
    frames_max: int = 12
    workers: int = 0  # DataLoader worker processes per rank


@dataclass
class ModelSpec:
    """Where the model comes from and what trains."""

    init_from: Optional[str] = None  # a VRS-HQ folder (VRSHQ.from_pretrained)
    tiny_image_size: Optional[int] = None  # else: VRSHQConfig.tiny(image_size) (tests, CPU)
    seed: int = 0  # initialisation of a tiny model
    lora: bool = True
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    lora_target_modules: tuple[str, ...] = ("q_proj", "v_proj")
    gradient_checkpointing: bool = True


@dataclass
class OptimConfig:
    """AdamW and its schedule (``transformers.get_scheduler``)."""

    lr: float = 3e-4
    betas: tuple[float, float] = (0.9, 0.95)
    weight_decay: float = 0.0
    scheduler: str = "linear"
    warmup_steps: int = 100
    max_grad_norm: float = 1.0


@dataclass
class ValidationConfig:
    """Held-out J&F with the project's evaluator every ``every`` steps (0: never)."""

    kind: Optional[str] = None  # revos, mevis, bag, davis
    root: Optional[str] = None
    meta: Optional[str] = None
    split: Optional[str] = None
    every: int = 0
    max_expressions: int = 50
    max_frames: int = 24  # first frames of each video scored (bounded validation time)


@dataclass
class FinetuneConfig:
    """Everything one run needs; ``max_steps`` counts optimizer steps."""

    output_dir: str = "runs/finetune"
    max_steps: int = 15000
    batch_size: int = 1  # per rank and micro-step
    grad_accumulation: int = 32
    mixed_precision: str = "bf16"  # no, bf16, fp16
    seed: int = 0
    log_every: int = 1
    save_every: int = 500
    keep_last: int = 3
    tracker: str = "tensorboard"  # tensorboard, wandb, ... (accelerate trackers) or none
    find_unused_parameters: bool = True
    export_on_finish: bool = True
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelSpec = field(default_factory=ModelSpec)
    optim: OptimConfig = field(default_factory=OptimConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)

    def __post_init__(self):
        if self.mixed_precision not in ("no", "bf16", "fp16"):
            raise FinetuneConfigError(f"mixed_precision must be no, bf16 or fp16, got "
                                      f"{self.mixed_precision!r}")
        if min(self.max_steps, self.batch_size, self.grad_accumulation, self.keep_last) < 1:
            raise FinetuneConfigError("max_steps, batch_size, grad_accumulation and keep_last "
                                      "must be >= 1")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for trackers and the run folder)."""
        return dataclasses.asdict(self)


_NESTED = {"data": DataConfig, "model": ModelSpec, "optim": OptimConfig,
           "validation": ValidationConfig}


def _build(cls, data: Any, where: str):
    if not isinstance(data, dict):
        raise FinetuneConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise FinetuneConfigError(f"{where}: unknown keys {unknown} (known: {sorted(known)})")
    kwargs = {}
    for key, value in data.items():
        if cls is FinetuneConfig and key in _NESTED:
            value = _build(_NESTED[key], value or {}, f"{where}.{key}")
        elif cls is DataConfig and key == "sets":
            if not isinstance(value, list):
                raise FinetuneConfigError(f"{where}.sets: expected a list of sets")
            value = [_build(DataSetSpec, v, f"{where}.sets[{i}]") for i, v in enumerate(value)]
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise FinetuneConfigError(f"{where}: {exc}") from exc


def config_from_dict(data: dict, where: str = "config") -> FinetuneConfig:
    """Build a ``FinetuneConfig`` from a plain dict (the YAML's content)."""
    return _build(FinetuneConfig, data, where)


def load_config(path: str | Path, overrides: Optional[dict] = None) -> FinetuneConfig:
    """Read the YAML run config; ``overrides`` (top-level keys) replace its values."""
    path = Path(path)
    if not path.is_file():
        raise FinetuneConfigError(f"run config {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise FinetuneConfigError(f"{path}: not valid YAML ({exc})") from exc
    data.update(overrides or {})
    return config_from_dict(data, str(path))
