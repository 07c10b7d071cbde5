"""Distributed VRS-HQ fine-tuning on ``accelerate``: one loop for 1 CPU, 1 GPU, N GPUs, N machines.

``accelerate launch`` (or a plain ``python``) starts the processes; the ``Accelerator`` picks
DDP, DeepSpeed or FSDP from the accelerate config and handles mixed precision, gradient
accumulation, checkpoints (``save_state``: model, optimizer, scheduler, RNG) and trackers.
The data position lives in ``cursor.json`` next to each checkpoint (samples consumed; see
``datasets_mix``). Only the main process logs, shows the progress bar and writes files.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import torch
from accelerate import Accelerator, DistributedDataParallelKwargs, DistributedType
from accelerate.logging import get_logger
from accelerate.utils import ProjectConfiguration, gather_object, set_seed
from torch.utils.data import DataLoader
from tqdm.auto import tqdm
from transformers import get_scheduler

from vrs_hq_ros.train.datasets_mix import MixedSamples, RankMicroBatches, keep_batch
from vrs_hq_ros.train.finetune_config import FinetuneConfig
from vrs_hq_ros.train.finetune_model import LOSS_TERMS, FinetuneModule, export_model, prepare_model
from vrs_hq_ros.train.finetune_validation import load_validation_set, score_shard, summarise

log = get_logger(__name__)

CHECKPOINT_DIR = "checkpoints"
CURSOR_FILE = "cursor.json"
EXPORT_DIR = "model"

StepCallback = Callable[[int, dict, torch.nn.Module], None]


@dataclass
class FinetuneResult:
    """What a run did: optimizer steps reached, per-step metrics (main process), wall time."""

    last_step: int
    start_step: int
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    export_dir: Optional[Path] = None

    @property
    def steps_per_second(self) -> float:
        """Optimizer steps per second of this invocation (incl. the first, warm-up step)."""
        done = self.last_step - self.start_step
        return done / self.seconds if self.seconds > 0 else float("nan")


def latest_checkpoint(output_dir: str | Path) -> Optional[Path]:
    """Return the newest ``checkpoints/checkpoint_<n>`` holding a cursor, or None."""
    root = Path(output_dir) / CHECKPOINT_DIR
    found = [p for p in root.glob("checkpoint_*") if (p / CURSOR_FILE).is_file()]
    return max(found, key=lambda p: int(p.name.split("_")[-1])) if found else None


def _tracker(config: FinetuneConfig) -> Optional[str]:
    if config.tracker in ("none", "", None):
        return None
    if config.tracker == "tensorboard":
        from accelerate.utils import is_tensorboard_available

        if not is_tensorboard_available():
            logging.getLogger(__name__).warning(
                "tensorboard is not installed (pip install -e .[train]): metrics go to the "
                "console and metrics.jsonl only")
            return None
    return config.tracker


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat(value, f"{name}."))
        else:
            out[name] = value if isinstance(value, (int, float, str, bool)) else str(value)
    return out


def _quiet_other_ranks(accelerator: Accelerator) -> None:
    """Every rank runs the same code; only the main process keeps INFO logs."""
    if not accelerator.is_main_process:
        logging.getLogger("vrs_hq_ros").setLevel(logging.WARNING)
        import transformers

        transformers.utils.logging.set_verbosity_error()


def make_accelerator(config: FinetuneConfig, cpu: bool = False) -> Accelerator:
    """Build the run's Accelerator (the distributed setup comes from ``accelerate launch``)."""
    project = ProjectConfiguration(project_dir=config.output_dir, logging_dir=config.output_dir,
                                   automatic_checkpoint_naming=True, total_limit=config.keep_last)
    ddp = DistributedDataParallelKwargs(find_unused_parameters=config.find_unused_parameters)
    return Accelerator(gradient_accumulation_steps=config.grad_accumulation,
                       mixed_precision=config.mixed_precision, log_with=_tracker(config),
                       project_config=project, step_scheduler_with_optimizer=False,
                       kwargs_handlers=[ddp], cpu=cpu)


def run_finetune(config: FinetuneConfig, resume: bool = True,
                 stop_after: Optional[int] = None, on_step: Optional[StepCallback] = None,
                 cpu: bool = False) -> FinetuneResult:
    """Train ``config.max_steps`` optimizer steps (resuming from the newest checkpoint).

    ``stop_after``: save a checkpoint and return after this step (a time-boxed job); the
    schedule still spans ``max_steps``. ``on_step(step, metrics, module)`` runs on every rank.
    """
    accelerator = make_accelerator(config, cpu=cpu)
    _quiet_other_ranks(accelerator)
    set_seed(config.seed)
    mix = MixedSamples.from_config(config.data, config.seed)
    val_set = load_validation_set(config.validation)
    model = prepare_model(config.model)
    module = FinetuneModule(model)
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.optim.lr, betas=tuple(config.optim.betas),
                                  weight_decay=config.optim.weight_decay)
    scheduler = get_scheduler(config.optim.scheduler, optimizer,
                              num_warmup_steps=config.optim.warmup_steps,
                              num_training_steps=config.max_steps)
    if accelerator.distributed_type == DistributedType.DEEPSPEED:
        # No DataLoader is prepared (ranks shard the stream themselves), so DeepSpeed cannot
        # infer its micro-batch size from one.
        accelerator.state.deepspeed_plugin.deepspeed_config["train_micro_batch_size_per_gpu"] = \
            config.batch_size
    module, optimizer, scheduler = accelerator.prepare(module, optimizer, scheduler)

    start_step, samples_seen = 0, 0
    checkpoint = latest_checkpoint(config.output_dir) if resume else None
    if checkpoint is not None:
        accelerator.load_state(str(checkpoint))
        cursor = json.loads((checkpoint / CURSOR_FILE).read_text())
        start_step, samples_seen = int(cursor["step"]), int(cursor["samples_seen"])
        accelerator.project_configuration.iteration = int(checkpoint.name.split("_")[-1]) + 1
        log.info(f"resumed from {checkpoint} at step {start_step}")
    end_step = min(config.max_steps, stop_after or config.max_steps)
    world, rank = accelerator.num_processes, accelerator.process_index
    per_step = config.batch_size * config.grad_accumulation * world
    stream = RankMicroBatches(mix, samples_seen, (end_step - start_step) * config.grad_accumulation,
                              config.batch_size, world, rank)
    # Its own generator: starting an iterator draws a seed, which must not shift the global
    # RNG that dropout reads (a resumed run would otherwise differ from an uninterrupted one).
    loader = DataLoader(stream, batch_size=None, shuffle=False, num_workers=config.data.workers,
                        collate_fn=keep_batch, generator=torch.Generator().manual_seed(config.seed))
    if accelerator.is_main_process:
        Path(config.output_dir).mkdir(parents=True, exist_ok=True)
        (Path(config.output_dir) / "finetune_config.json").write_text(
            json.dumps(config.to_dict(), indent=2))
    accelerator.init_trackers("finetune", config=_flat(config.to_dict()))
    log.info(f"{world} process(es), {per_step} samples per optimizer step, steps "
             f"{start_step}..{end_step} of {config.max_steps}")

    result = FinetuneResult(last_step=start_step, start_step=start_step)
    bar = tqdm(total=end_step, initial=start_step, desc="finetune",
               disable=not accelerator.is_main_process)
    step, sums, micro = start_step, torch.zeros(len(LOSS_TERMS)), 0
    started = time.perf_counter()
    for batch in loader:
        with accelerator.accumulate(module):
            terms = module(batch)
            accelerator.backward(terms[0])
            if accelerator.sync_gradients and config.optim.max_grad_norm > 0:
                accelerator.clip_grad_norm_(params, config.optim.max_grad_norm)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        sums += terms.detach().float().cpu()
        micro += 1
        if not accelerator.sync_gradients:
            continue
        scheduler.step()
        step += 1
        samples_seen += per_step
        mean = accelerator.reduce((sums / micro).to(accelerator.device), reduction="mean")
        metrics = {name: float(v) for name, v in zip(LOSS_TERMS, mean.cpu(), strict=True)}
        metrics["lr"] = float(scheduler.get_last_lr()[0])
        sums, micro = torch.zeros(len(LOSS_TERMS)), 0
        if val_set is not None and step % config.validation.every == 0:
            metrics.update(_validate(accelerator, model, val_set, config))
        if accelerator.is_main_process:
            result.history.append({"step": step, **metrics})
            bar.update(1)
            bar.set_postfix({k: f"{v:.3f}" for k, v in metrics.items() if k != "lr"})
            with open(Path(config.output_dir) / "metrics.jsonl", "a") as f:
                f.write(json.dumps({"step": step, **metrics}) + "\n")
        if step % config.log_every == 0:
            accelerator.log(metrics, step=step)
        if on_step is not None:
            on_step(step, metrics, module)
        if step % config.save_every == 0 or step == end_step:
            _save(accelerator, step, samples_seen)
    bar.close()
    result.seconds = time.perf_counter() - started
    result.last_step = step
    if step >= config.max_steps and config.export_on_finish:
        result.export_dir = _export(accelerator, module, config)
    accelerator.end_training()
    return result


def _save(accelerator: Accelerator, step: int, samples_seen: int) -> None:
    """``save_state`` (keeps the newest ``keep_last``) plus the data cursor."""
    folder = Path(accelerator.save_state())
    if accelerator.is_main_process:
        (folder / CURSOR_FILE).write_text(json.dumps({"step": step,
                                                      "samples_seen": samples_seen}))
    accelerator.wait_for_everyone()


def _validate(accelerator: Accelerator, model, val_set, config: FinetuneConfig) -> dict:
    scores = score_shard(model, val_set, config.validation, accelerator.process_index,
                         accelerator.num_processes)
    merged = gather_object(scores) if accelerator.num_processes > 1 else scores
    summary = summarise(merged)
    log.info(f"validation: J&F {summary.jf:.3f} (J {summary.j:.3f}, F {summary.f:.3f}) on "
             f"{summary.expressions} expressions")
    return {"val_j": summary.j, "val_f": summary.f, "val_jf": summary.jf}


def _export(accelerator: Accelerator, module, config: FinetuneConfig) -> Optional[Path]:
    """Merge LoRA and write ``<output_dir>/model`` (main process)."""
    sharded = accelerator.distributed_type in (DistributedType.DEEPSPEED, DistributedType.FSDP)
    state = accelerator.get_state_dict(module) if sharded else None  # collective: all ranks
    out = Path(config.output_dir) / EXPORT_DIR
    if accelerator.is_main_process:
        if sharded:
            fresh = FinetuneModule(prepare_model(config.model))
            fresh.load_state_dict(state)
            model = fresh.model
        else:
            model = accelerator.unwrap_model(module).model
        export_model(model, out)
        log.info(f"exported the merged model to {out}")
    accelerator.wait_for_everyone()
    return out
