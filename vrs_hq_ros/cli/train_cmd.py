"""``vrs-hq train``: train the tiny VRS-HQ model on synthetic clips and save it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(subparsers) -> None:
    """Register ``train``."""
    p = subparsers.add_parser("train", help="train the tiny model on synthetic clips",
                              description=__doc__)
    p.add_argument("--out", type=Path, required=True, help="folder for save_pretrained")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0, choices=range(10), metavar="0..9")
    p.add_argument("--eval-clips", type=int, default=40, help="held-out clips to score")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Train, score against the untrained start on held-out clips, save; returns 0."""
    from vrs_hq_ros.train.trainer import (
        TrainConfig,
        build_untrained,
        held_out_seeds,
        keyframe_jaccard,
        train,
    )

    config = TrainConfig(steps=args.steps, lr=args.lr, seed=args.seed)
    model, losses = train(config, log=print)
    seeds = held_out_seeds(args.eval_clips)
    scores = {"keyframe_J_trained": keyframe_jaccard(model, seeds),
              "keyframe_J_untrained": keyframe_jaccard(build_untrained(config), seeds),
              "held_out_clips": args.eval_clips,
              "final_loss": sum(losses[-100:]) / len(losses[-100:]),
              "train_config": vars(config)}
    model.save_pretrained(args.out)
    (Path(args.out) / "training.json").write_text(json.dumps(scores, indent=2))
    print(json.dumps({k: v for k, v in scores.items() if k != "train_config"}, indent=2))
    return 0
