"""Export a fine-tuning checkpoint: rebuild the trained module, load its weights, merge LoRA.

Reads the ``model.safetensors`` that ``Accelerator.save_state`` writes under DDP (and on one
device). DeepSpeed / FSDP checkpoints hold sharded weights: export those runs through the
run's own final export (``export_on_finish``), which gathers the weights first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from safetensors.torch import load_model

from vrs_hq_ros.train.datasets import TrainingDataError
from vrs_hq_ros.train.finetune import latest_checkpoint
from vrs_hq_ros.train.finetune_config import FinetuneConfig
from vrs_hq_ros.train.finetune_model import FinetuneModule, export_model, prepare_model

CHECKPOINT_WEIGHTS = "model.safetensors"


def export_checkpoint(config: FinetuneConfig, out_dir: str | Path,
                      checkpoint: Optional[str | Path] = None) -> Path:
    """Write the merged model of ``checkpoint`` (default: the newest of the run) to ``out_dir``."""
    folder = Path(checkpoint) if checkpoint else latest_checkpoint(config.output_dir)
    if folder is None:
        raise TrainingDataError(f"{config.output_dir}/checkpoints holds no checkpoint")
    weights = folder / CHECKPOINT_WEIGHTS
    if not weights.is_file():
        raise TrainingDataError(
            f"{weights} does not exist: not a DDP / single-device checkpoint (DeepSpeed and "
            "FSDP runs are exported by the run itself, export_on_finish)")
    module = FinetuneModule(prepare_model(config.model))
    missing, unexpected = load_model(module, str(weights), strict=False)
    if missing or unexpected:
        raise TrainingDataError(f"{weights} does not fit model/lora settings of the config: "
                                f"missing {missing[:3]}, unexpected {unexpected[:3]}")
    return export_model(module.model, out_dir)
