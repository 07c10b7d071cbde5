"""``vrs-hq train``: train (or resume) the tiny VRS-HQ model on synthetic reasoning videos.

The run folder keeps checkpoints and ``train_log.jsonl``; running the same command again
resumes from the newest checkpoint (``--stop-after`` ends a sitting early). When every stage
is done the model is scored on the validation split (offline mode, ReVOS J&F) and saved with
``save_pretrained`` to ``--out`` together with ``training.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def add_parser(subparsers) -> None:
    """Register ``train``."""
    p = subparsers.add_parser("train", help="train the tiny model on synthetic reasoning videos",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path, default=REPO_ROOT / "config" / "train_tiny.yaml",
                   help="run config (YAML)")
    p.add_argument("--run-dir", type=Path, default=Path("runs/tiny"),
                   help="checkpoints and logs (resumed when it holds a checkpoint)")
    p.add_argument("--out", type=Path, help="save the finished model here (save_pretrained)")
    p.add_argument("--stop-after", type=int, help="end this sitting after N steps")
    p.add_argument("--stop-after-seconds", type=float,
                   help="end this sitting after this much training time (a lent machine)")
    p.add_argument("--steps", type=int,
                   help="override: scale every stage to this many steps in total (smoke runs)")
    p.add_argument("--eval-clips", type=int,
                   help="validation scenes to score (default: config; 0 skips scoring)")
    p.set_defaults(run=run)


def _scaled(config, total: int):
    from dataclasses import replace

    count = len(config.stages)
    stages = tuple(replace(s, steps=total // count + (i < total % count))
                   for i, s in enumerate(config.stages))
    return replace(config, stages=stages, checkpoint_every=max(1, min(config.checkpoint_every,
                                                                      total)))


def run(args: argparse.Namespace) -> int:
    """Train or resume; when finished, score on the validation split and save."""
    from vrs_hq_ros.engine.offline import segment_clip
    from vrs_hq_ros.train.run_config import RunConfig
    from vrs_hq_ros.train.synthetic_benchmark import score_split, split_videos
    from vrs_hq_ros.train.trainer import train

    config = RunConfig.from_yaml(args.config)
    if args.steps is not None:
        config = _scaled(config, args.steps)
    start = time.perf_counter()
    run_state = train(config, args.run_dir, log=print, stop_after=args.stop_after,
                      stop_after_seconds=args.stop_after_seconds)
    if run_state.step < config.total_steps:
        print(f"stopped at step {run_state.step}/{config.total_steps}; run the same command "
              f"to resume")
        return 0
    model = run_state.model
    clips = args.eval_clips if args.eval_clips is not None else config.eval_clips
    summary = score_split(lambda frames, sentence: segment_clip(model, frames, sentence),
                          split_videos("val", clips, config.data)).as_dict() if clips else None
    record = {"val": summary, "val_scenes": clips, "steps": config.total_steps,
              "seconds_this_sitting": round(time.perf_counter() - start, 1),
              "run_config": config.to_dict()}
    print(json.dumps(record["val"], indent=2))
    if args.out is not None:
        model.save_pretrained(args.out)
        (Path(args.out) / "training.json").write_text(json.dumps(record, indent=2))
        print(f"saved {args.out}")
    return 0
