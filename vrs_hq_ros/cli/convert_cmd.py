"""``vrs-hq convert``: benchmark folder → one rosbag2 per video, or bags → ReVOS-layout folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from vrs_hq_ros.eval.bags import BagTopics, find_bags, read_bag, videos_to_bags
from vrs_hq_ros.eval.dataset_writer import write_mask_dict_dataset
from vrs_hq_ros.eval.datasets import KINDS, load_dataset


def add_parser(subparsers) -> None:
    """Register ``convert``."""
    p = subparsers.add_parser("convert", help="dataset folder <-> rosbag2", description=__doc__)
    p.add_argument("source", type=Path, help="dataset folder, a bag, or a folder of bags")
    p.add_argument("out", type=Path, help="output folder (bags or a dataset)")
    p.add_argument("--to", choices=("bag", "dataset"),
                   help="direction (default: dataset if the source holds bags, else bag)")
    p.add_argument("--storage", choices=("mcap", "sqlite3"), default="mcap")
    p.add_argument("--fps", type=float, default=10.0, help="frame rate of the bag's stamps")
    p.add_argument("--kind", choices=KINDS, help="dataset layout (guessed when omitted)")
    p.add_argument("--split", help="split of a folder holding several (as vrs-hq eval)")
    p.add_argument("--videos", nargs="+", help="convert only these videos")
    p.add_argument("--image-topic", default=BagTopics.image)
    p.add_argument("--goal-topic", default=BagTopics.goal)
    p.add_argument("--gt-prefix", default=BagTopics.ground_truth_prefix)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Convert and print what was written."""
    topics = BagTopics(args.image_topic, args.goal_topic, args.gt_prefix)
    bags = find_bags(args.source)
    direction = args.to or ("dataset" if bags else "bag")
    if direction == "dataset":
        videos = (read_bag(b, topics) for b in bags)
        chosen = (v for v in videos if not args.videos or v.name in args.videos)
        write_mask_dict_dataset(args.out, chosen)
        print(f"wrote dataset {args.out} from {len(bags)} bag(s)")
        return 0
    evalset = load_dataset(args.source, args.kind, args.split)
    written = videos_to_bags(evalset.labelled_videos(args.videos), args.out,
                             storage=args.storage, fps=args.fps, topics=topics)
    for path in written:
        print(path)
    return 0
