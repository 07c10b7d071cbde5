"""``vrs-hq eval``: replay a dataset folder or bags through a predictor and write a report."""

from __future__ import annotations

import argparse
from pathlib import Path

from vrs_hq_ros.eval.bags import BagTopics
from vrs_hq_ros.eval.predictors import (
    GroundTruthPredictor,
    OfflinePredictor,
    Predictor,
    StreamingPredictor,
)
from vrs_hq_ros.eval.replay import EvalSource, open_source, replay
from vrs_hq_ros.eval.report import write_report

PREDICTORS = ("offline", "streaming", "oracle")


def add_parser(subparsers) -> None:
    """Register ``eval``."""
    p = subparsers.add_parser("eval", help="evaluate a predictor on a dataset folder or bags",
                              description=__doc__)
    p.add_argument("source", type=Path, help="ReVOS/MeViS/Ref-DAVIS17 folder, a bag, or a folder "
                                             "of bags")
    p.add_argument("-o", "--out", type=Path, required=True, help="output folder")
    p.add_argument("--predictor", choices=PREDICTORS, default="offline",
                   help="offline: paper mode; streaming: the online engine (deterministic); "
                        "oracle: ground truth (checks the pipeline)")
    p.add_argument("--model", type=Path, help="model folder (VRSHQ.save_pretrained)")
    p.add_argument("--kind", choices=("revos", "mevis", "davis", "bag"),
                   help="dataset kind / aggregation (guessed when omitted)")
    p.add_argument("--videos", nargs="+", help="evaluate only these videos")
    p.add_argument("--overlay-videos", nargs="*", default=[], help="write overlay mp4s for these")
    p.add_argument("--overlay-fps", type=float, default=10.0)
    p.add_argument("--oracle-shift", type=int, nargs=2, default=(0, 0), metavar=("DY", "DX"),
                   help="shift the oracle's masks by DY, DX pixels")
    p.add_argument("--bound-th", type=float, default=0.008, help="F boundary tolerance")
    p.add_argument("--image-topic", default=BagTopics.image)
    p.add_argument("--goal-topic", default=BagTopics.goal)
    p.add_argument("--gt-prefix", default=BagTopics.ground_truth_prefix)
    p.add_argument("--no-timelines", action="store_true", help="skip the per-expression plots")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def make_predictor(args: argparse.Namespace, source: EvalSource) -> tuple[Predictor, EvalSource]:
    """Build the predictor named on the command line (the oracle needs the videos in memory)."""
    if args.predictor == "oracle":
        videos = list(source.videos)
        source.videos = videos
        return GroundTruthPredictor(videos, tuple(args.oracle_shift)), source
    if args.model is None:
        raise SystemExit(f"vrs-hq eval: --model is required for the {args.predictor} predictor")
    if args.predictor == "offline":
        return OfflinePredictor.from_pretrained(args.model), source
    return StreamingPredictor.from_pretrained(args.model), source


def run(args: argparse.Namespace) -> int:
    """Run the evaluation and print the summary."""
    topics = BagTopics(args.image_topic, args.goal_topic, args.gt_prefix)
    source = open_source(args.source, args.kind, args.videos, topics)
    predictor, source = make_predictor(args, source)
    result = replay(source, predictor, args.out, overlay_videos=args.overlay_videos,
                    overlay_fps=args.overlay_fps, bound_th=args.bound_th,
                    progress=not args.no_progress)
    report = write_report(args.out, result, source.name, source.kind, args.predictor,
                          timelines=not args.no_timelines)
    mean = report.summary["mean"]
    print(f"{len(report.expressions)} expressions, {report.frames} frames, "
          f"{report.frames_per_second:.2f} frames/s")
    if "revos" in report.summary:
        for name, row in report.summary["revos"].items():
            print(f"ReVOS {name:9s} J {row['j']:.2f}  F {row['f']:.2f}  J&F {row['jf']:.2f}")
    print(f"mean            J {mean['j']:.2f}  F {mean['f']:.2f}  J&F {mean['jf']:.2f}")
    print(f"report: {args.out / 'report.md'}")
    return 0
