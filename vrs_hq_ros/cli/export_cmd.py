"""``vrs-hq export``: a fine-tuning checkpoint -> LoRA merged -> a folder the node loads."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> None:
    """Register ``export``."""
    p = subparsers.add_parser("export", help="merge LoRA of a fine-tuning checkpoint into a "
                              "model folder (VRSHQ.from_pretrained)", description=__doc__)
    p.add_argument("--config", type=Path, required=True, help="the run config of the training")
    p.add_argument("--checkpoint", type=Path,
                   help="checkpoint folder (default: the newest under output_dir/checkpoints)")
    p.add_argument("--out", type=Path, required=True, help="model folder to write")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Export; returns 0."""
    from vrs_hq_ros.train.finetune_config import load_config
    from vrs_hq_ros.train.finetune_export import export_checkpoint

    out = export_checkpoint(load_config(args.config), args.out, args.checkpoint)
    print(f"wrote {out} (load with VRSHQ.from_pretrained, or model_dir of the node)")
    return 0
