"""``vrs-hq demo``: the streaming engine on a synthetic clip with the shipped default model.

Writes ``overlay.mp4`` (mask over every frame), ``results.jsonl`` (one line per frame: state,
score, box, keyframe, latency) and ``summary.json`` to ``--out``, and prints a summary with
J&F against the clip's exact ground truth.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODEL = REPO_ROOT / "models" / "vrs_hq_tiny"


def add_parser(subparsers) -> None:
    """Register ``demo``."""
    p = subparsers.add_parser("demo", help="track a sentence through a synthetic clip",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("outputs/demo"), help="output folder")
    p.add_argument("--model", type=Path, default=None,
                   help=f"saved model folder (default: the shipped {DEFAULT_MODEL.name}; "
                        "a random tiny model when it is absent)")
    p.add_argument("--sentence", default=None, help="the goal (default: the clip's own)")
    p.add_argument("--frames", type=int, default=32, help="clip length")
    p.add_argument("--size", type=int, default=128, help="frame height and width in pixels")
    p.add_argument("--seed", type=int, default=0, help="synthetic clip seed")
    p.add_argument("--device", default="cpu", help="torch device")
    p.set_defaults(run=run)


def _load_model(path: Path | None, device: str):
    from vrs_hq_ros.model.config import VRSHQConfig
    from vrs_hq_ros.model.vrshq import VRSHQ

    path = path if path is not None else DEFAULT_MODEL
    if (path / "vrshq_config.json").is_file():
        return VRSHQ.from_pretrained(path, device=device), str(path)
    if path != DEFAULT_MODEL:
        raise SystemExit(f"vrs-hq demo: no saved model in {path}")
    logger.warning("no shipped model at %s: using a RANDOM tiny model (masks are meaningless)",
                   path)
    import torch

    torch.manual_seed(0)
    return VRSHQ(VRSHQConfig.tiny()).to(device), "random tiny model (untrained)"


def _result_row(result) -> dict:
    goal = result.goals[0]
    return {
        "frame": result.frame_index, "stamp_ns": result.stamp_ns, "state": goal.state.name,
        "score": round(goal.score, 4), "area_px": goal.area_px,
        "bbox": None if goal.bbox is None else [goal.bbox.x_min, goal.bbox.y_min,
                                                goal.bbox.x_max, goal.bbox.y_max],
        "keyframe_stamp_ns": goal.keyframe_stamp_ns, "window_id": goal.window_id,
        "latency_ms": round(result.latency_s * 1e3, 2),
    }


def run(args: argparse.Namespace) -> int:
    """Run the demo; returns the exit status."""
    from vrs_hq_ros.engine.config import EngineConfig
    from vrs_hq_ros.engine.frames import Frame
    from vrs_hq_ros.engine.results import GoalAction, GoalCommand
    from vrs_hq_ros.engine.streaming import StreamingEngine
    from vrs_hq_ros.eval.metrics import f_measure, jaccard
    from vrs_hq_ros.eval.overlay import write_overlay_video
    from vrs_hq_ros.train.synthetic import make_clip

    model, model_name = _load_model(args.model, args.device)
    clip = make_clip(args.seed, num_frames=args.frames, size=args.size)
    sentence = args.sentence or clip.sentence
    engine = StreamingEngine(model, EngineConfig(window_length=12, stride=6,
                                                 frames_per_window=6, deterministic=True))
    engine.apply(GoalCommand(GoalAction.ADD, goal_id="demo", sentence=sentence))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, masks = [], []
    start = time.perf_counter()
    try:
        for i, rgb in enumerate(clip.frames):
            result = engine.push(Frame(stamp_ns=i * 100_000_000, rgb=rgb))  # a 10 Hz camera
            rows.append(_result_row(result))
            masks.append(result.goals[0].mask_hw)
    finally:
        engine.close()
    wall_s = time.perf_counter() - start
    pred, gt = np.stack(masks), np.asarray(clip.masks, bool)
    j, f = float(jaccard(pred, gt).mean()), float(f_measure(pred, gt).mean())
    with open(out / "results.jsonl", "w") as fh:
        fh.writelines(json.dumps(row) + "\n" for row in rows)
    video = write_overlay_video(out / "overlay.mp4", list(clip.frames), masks, fps=10.0,
                                caption=sentence)
    states = {s: sum(r["state"] == s for r in rows) for s in ("SEARCHING", "TRACKED", "LOST")}
    summary = {"model": model_name, "sentence": sentence, "frames": len(rows),
               "states": states, "J": round(j, 4), "F": round(f, 4), "J&F": round((j + f) / 2, 4),
               "ms_per_frame": round(wall_s / len(rows) * 1e3, 1),
               "keyframes": sorted({r["keyframe_stamp_ns"] for r in rows if r["window_id"]})}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"model     {model_name}\nsentence  {sentence!r}\nframes    {len(rows)} "
          f"({summary['ms_per_frame']} ms/frame on {args.device})\nstates    {states}\n"
          f"J&F       {summary['J&F']:.3f} (J {j:.3f}, F {f:.3f}) vs the clip's ground truth\n"
          f"wrote     {video}, {out / 'results.jsonl'}, {out / 'summary.json'}")
    return 0
