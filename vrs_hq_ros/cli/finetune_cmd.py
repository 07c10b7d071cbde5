"""``vrs-hq finetune``: the distributed fine-tuning recipe; run it under ``accelerate launch``.

One command for every setup: ``vrs-hq finetune --config config/finetune.yaml`` on one CPU or
GPU, ``accelerate launch [--config_file config/accelerate/<setup>.yaml] -m vrs_hq_ros.cli.main
finetune --config ...`` on several GPUs or machines (docs/FINETUNE.md).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(subparsers) -> None:
    """Register ``finetune``."""
    p = subparsers.add_parser("finetune", help="fine-tune with LoRA on video + image data "
                              "(accelerate: 1 CPU .. N machines)", description=__doc__)
    p.add_argument("--config", type=Path, required=True, help="run config (YAML)")
    p.add_argument("--output-dir", help="override output_dir of the config")
    p.add_argument("--max-steps", type=int, help="override max_steps of the config")
    p.add_argument("--stop-after", type=int,
                   help="checkpoint and exit after this step (time-boxed jobs; resume later)")
    p.add_argument("--no-resume", action="store_true",
                   help="start over even if output_dir holds checkpoints")
    p.add_argument("--cpu", action="store_true", help="train on the CPU even if a GPU exists")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Train; prints a JSON summary (steps, steps/s, export folder) on the main process."""
    from vrs_hq_ros.train.finetune import run_finetune
    from vrs_hq_ros.train.finetune_config import load_config

    overrides = {}
    if args.output_dir:
        overrides["output_dir"] = args.output_dir
    if args.max_steps:
        overrides["max_steps"] = args.max_steps
    config = load_config(args.config, overrides)
    result = run_finetune(config, resume=not args.no_resume, stop_after=args.stop_after,
                          cpu=args.cpu)
    if result.history:  # main process only
        print(json.dumps({"steps": f"{result.start_step}..{result.last_step}",
                          "steps_per_second": round(result.steps_per_second, 3),
                          "last": result.history[-1],
                          "export": str(result.export_dir) if result.export_dir else None}))
    return 0
