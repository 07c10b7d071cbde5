"""``vrs-hq eval``: replay a dataset folder or bags through a predictor and write a report.

Benchmark folders are read as downloaded (ReVOS, MeViS, Ref-DAVIS17, Ref-YouTube-VOS; see
docs/EVALUATION.md). Sets without ground truth (MeViS valid, Ref-YouTube-VOS valid) are predicted
and, with ``--submission``, zipped for the benchmark server.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vrs_hq_ros.eval.bags import BagTopics
from vrs_hq_ros.eval.datasets import KINDS
from vrs_hq_ros.eval.predictors import (
    GroundTruthPredictor,
    OfflinePredictor,
    Predictor,
    StreamingPredictor,
)
from vrs_hq_ros.eval.replay import EvalSource, open_source, replay
from vrs_hq_ros.eval.report import write_report
from vrs_hq_ros.eval.submission import write_submission

PREDICTORS = ("offline", "streaming", "oracle")


def add_parser(subparsers) -> None:
    """Register ``eval``."""
    p = subparsers.add_parser("eval", help="evaluate a predictor on a dataset folder or bags",
                              description=__doc__)
    p.add_argument("source", type=Path, help="ReVOS / MeViS / Ref-DAVIS17 / Ref-YouTube-VOS "
                                             "folder as downloaded, a bag, or a folder of bags")
    p.add_argument("-o", "--out", type=Path, required=True, help="output folder")
    p.add_argument("--predictor", choices=PREDICTORS, default="offline",
                   help="offline: paper mode; streaming: the online engine (deterministic); "
                        "oracle: ground truth (checks the pipeline)")
    p.add_argument("--model", type=Path, help="model folder (VRSHQ.save_pretrained)")
    p.add_argument("--kind", choices=(*KINDS, "bag"),
                   help="dataset kind / aggregation (guessed from the folder when omitted)")
    p.add_argument("--split", help="split of a folder holding several: ReVOS train|valid, MeViS "
                                   "train|valid_u|valid, Ref-DAVIS17 train|valid, "
                                   "Ref-YouTube-VOS train|valid|test")
    p.add_argument("--submission", type=Path, nargs="?", const=Path("submission.zip"),
                   metavar="ZIP", help="also zip the predictions as the MeViS / Ref-YouTube-VOS "
                                       "server expects (default <out>/submission.zip)")
    p.add_argument("--videos", nargs="+", help="evaluate only these videos")
    p.add_argument("--overlay-videos", nargs="*", default=[], help="write overlay mp4s for these")
    p.add_argument("--overlay-fps", type=float, default=10.0)
    p.add_argument("--oracle-shift", type=int, nargs=2, default=(0, 0), metavar=("DY", "DX"),
                   help="shift the oracle's masks by DY, DX pixels")
    p.add_argument("--bound-th", type=float, default=0.008,
                   help="F boundary tolerance: a fraction of the image diagonal if < 1, else a "
                        "disk radius in px (as davis2017-evaluation, non-integers included)")
    p.add_argument("--image-topic", default=BagTopics.image)
    p.add_argument("--goal-topic", default=BagTopics.goal)
    p.add_argument("--gt-prefix", default=BagTopics.ground_truth_prefix)
    p.add_argument("--no-timelines", action="store_true", help="skip the per-expression plots")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def make_predictor(args: argparse.Namespace, source: EvalSource) -> tuple[Predictor, EvalSource]:
    """Build the predictor named on the command line (the oracle needs the videos in memory)."""
    if args.predictor == "oracle":
        if source.evalset is not None and not source.evalset.has_ground_truth:
            raise SystemExit(f"vrs-hq eval: {source.name} has no ground truth for the oracle")
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
    source = open_source(args.source, args.kind, args.videos, topics, args.split)
    predictor, source = make_predictor(args, source)
    result = replay(source, predictor, args.out, overlay_videos=args.overlay_videos,
                    overlay_fps=args.overlay_fps, bound_th=args.bound_th,
                    progress=not args.no_progress)
    report = write_report(args.out, result, source.name, source.kind, args.predictor,
                          timelines=not args.no_timelines)
    if args.submission is not None:
        if source.evalset is None:
            raise SystemExit("vrs-hq eval: --submission needs a benchmark folder, not bags")
        archive = args.submission if args.submission.is_absolute() else args.out / args.submission
        write_submission(args.out / "predictions", archive, source.kind, source.evalset.videos)
        print(f"submission: {archive}")
    if not report.expressions:
        print(f"{len(result.unscored)} expressions predicted, none scored (no ground truth)")
        return 0
    mean = report.summary["mean"]
    print(f"{len(report.expressions)} expressions, {report.frames} frames, "
          f"{report.frames_per_second:.2f} frames/s")
    if "revos" in report.summary:
        for name, row in report.summary["revos"].items():
            print(f"ReVOS {name:9s} J {row['j']:.2f}  F {row['f']:.2f}  J&F {row['jf']:.2f}"
                  f"  R {row['r']:.2f}")
    for name, row in report.summary.get("davis_palette", {}).items():
        print(f"Ref-DAVIS17 palette {name:12s} J {100 * row['j_mean']:.2f}  "
              f"F {100 * row['f_mean']:.2f}  J&F {100 * row['jf_mean']:.2f}")
    print(f"mean            J {mean['j']:.2f}  F {mean['f']:.2f}  J&F {mean['jf']:.2f}")
    print(f"report: {args.out / 'report.md'}")
    return 0
