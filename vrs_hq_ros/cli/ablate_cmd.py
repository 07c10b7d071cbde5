"""``vrs-hq ablate``: the ablation table of a model on the synthetic test split (Markdown)."""

from __future__ import annotations

import argparse
from pathlib import Path

from vrs_hq_ros.cli.demo_cmd import DEFAULT_MODEL


def add_parser(subparsers) -> None:
    """Register ``ablate``."""
    p = subparsers.add_parser("ablate", help="ablation table on the synthetic test split",
                              description=__doc__)
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="model folder")
    p.add_argument("--split", default="test", choices=("train", "val", "test"))
    p.add_argument("--scenes", type=int, default=40, help="scenes of the split to use")
    p.add_argument("--out", type=Path, help="write the Markdown table here too")
    p.add_argument("--only", nargs="+", help="variant names to run (default: all)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Score every variant and print the table."""
    from vrs_hq_ros.eval.ablations import markdown_table, run_ablations
    from vrs_hq_ros.model.vrshq import VRSHQ
    from vrs_hq_ros.train.synthetic_benchmark import split_videos

    model = VRSHQ.from_pretrained(args.model)
    videos = split_videos(args.split, args.scenes)
    table = markdown_table(run_ablations(model, videos, args.only))
    count = sum(len(v.expressions) for v in videos)
    header = (f"Model `{args.model.name}`, synthetic `{args.split}` split, {len(videos)} scenes, "
              f"{count} expressions (ReVOS J&F, percent).\n\n")
    print(header + table)
    if args.out is not None:
        args.out.write_text(header + table)
    return 0
