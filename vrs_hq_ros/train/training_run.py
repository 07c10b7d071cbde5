"""A training run's state and its checkpoints (``checkpoints/step_<N>/`` in the run folder).

Model and teacher weights are safetensors; the optimizer state is a tensor-only file loaded
with ``weights_only=True``; ``state.json``, written last, marks a folder complete.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_model, save_model

from vrs_hq_ros.model.vrshq import VRSHQ
from vrs_hq_ros.train.look_maps import LookMaps
from vrs_hq_ros.train.look_prompts import LookPrompts
from vrs_hq_ros.train.tower_looks import TowerLookHeads

CHECKPOINTS = "checkpoints"
STATE_FILE = "state.json"
LOOK_MAPS_FILE = "look_maps.safetensors"
TOWER_HEADS_FILE = "tower_heads.safetensors"


@dataclass
class TrainingRun:
    """The model being trained, its teacher tokens, and where the run stands."""

    model: VRSHQ
    looks: LookPrompts
    step: int = 0
    look_maps: LookMaps = field(default_factory=LookMaps.seeded)
    tower_heads: TowerLookHeads | None = None  # only in runs with a ``tower`` stage


def latest_checkpoint(run_dir: Path) -> Path | None:
    """Find the newest ``checkpoints/step_<N>`` folder of a run, or ``None``."""
    folders = sorted((run_dir / CHECKPOINTS).glob("step_*"),
                     key=lambda p: int(p.name.split("_")[1]))
    complete = [f for f in folders if (f / STATE_FILE).is_file()]
    return complete[-1] if complete else None


def save_checkpoint(run: TrainingRun, optimizer: torch.optim.Optimizer, stage_index: int,
                    run_dir: Path, keep: int) -> Path:
    """Write the step's checkpoint (state file last: a folder without it is incomplete)."""
    folder = run_dir / CHECKPOINTS / f"step_{run.step}"
    folder.mkdir(parents=True, exist_ok=True)
    save_model(run.model, str(folder / "model.safetensors"))
    save_model(run.looks, str(folder / "looks.safetensors"))
    save_model(run.look_maps, str(folder / LOOK_MAPS_FILE))
    if run.tower_heads is not None:
        save_model(run.tower_heads, str(folder / TOWER_HEADS_FILE))
    torch.save(optimizer.state_dict(), folder / "optimizer.pt")
    (folder / STATE_FILE).write_text(json.dumps({"step": run.step, "stage": stage_index,
                                                 "torch_rng": run_rng_list()}))
    for old in sorted((run_dir / CHECKPOINTS).glob("step_*"),
                      key=lambda p: int(p.name.split("_")[1]))[:-keep]:
        shutil.rmtree(old)
    return folder


def run_rng_list() -> list[int]:
    """Torch's CPU RNG state as plain ints (JSON)."""
    return torch.get_rng_state().tolist()


def load_checkpoint(run: TrainingRun, folder: Path) -> int:
    """Load a checkpoint's weights and torch's RNG into ``run``; return its step."""
    load_model(run.model, str(folder / "model.safetensors"))
    load_model(run.looks, str(folder / "looks.safetensors"))
    if (folder / LOOK_MAPS_FILE).is_file():  # checkpoints written before it existed lack it
        load_model(run.look_maps, str(folder / LOOK_MAPS_FILE))
    if run.tower_heads is not None and (folder / TOWER_HEADS_FILE).is_file():
        load_model(run.tower_heads, str(folder / TOWER_HEADS_FILE))
    state = json.loads((folder / STATE_FILE).read_text())
    torch.set_rng_state(torch.tensor(state["torch_rng"], dtype=torch.uint8))
    return int(state["step"])


def saved_stage(folder: Path) -> int:
    """Return the index of the stage a checkpoint was written in (-1: not recorded)."""
    return int(json.loads((folder / STATE_FILE).read_text()).get("stage", -1))
