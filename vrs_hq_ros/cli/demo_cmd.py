"""``vrs-hq demo``: the streaming engine on a synthetic clip with the shipped default model.

Tracks a referring and a reasoning sentence (or the ``--sentence`` goals) through a scene of
the synthetic test split at once, writes ``overlay_<k>.mp4`` per sentence (mask over every
frame), ``results.jsonl`` (one line per frame and goal: state, score, box, keyframe, latency)
and ``summary.json`` to ``--out``, and prints J&F per sentence against the exact ground truth.
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
DEMO_SCENE = 3  # a scene with several objects and both kinds of sentence


def add_parser(subparsers) -> None:
    """Register ``demo``."""
    p = subparsers.add_parser("demo", help="track sentences through a synthetic clip",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("outputs/demo"), help="output folder")
    p.add_argument("--model", type=Path, default=None,
                   help=f"saved model folder (default: the shipped {DEFAULT_MODEL.name}; "
                        "a random tiny model when it is absent)")
    p.add_argument("--sentence", action="append", default=None,
                   help="a goal (repeat for several; default: one referring and one reasoning "
                        "sentence of the scene)")
    p.add_argument("--frames", type=int, default=48, help="clip length")
    p.add_argument("--size", type=int, default=128, help="frame height and width in pixels")
    p.add_argument("--scene", type=int, default=DEMO_SCENE,
                   help="scene of the synthetic test split")
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


def _result_row(result, goal_id: str) -> dict:
    goal = next(g for g in result.goals if g.goal_id == goal_id)
    return {
        "frame": result.frame_index, "goal": goal_id, "stamp_ns": result.stamp_ns,
        "state": goal.state.name, "score": round(goal.score, 4), "area_px": goal.area_px,
        "bbox": None if goal.bbox is None else [goal.bbox.x_min, goal.bbox.y_min,
                                                goal.bbox.x_max, goal.bbox.y_max],
        "keyframe_stamp_ns": goal.keyframe_stamp_ns, "window_id": goal.window_id,
        "latency_ms": round(result.latency_s * 1e3, 2),
    }


def _demo_goals(args, scene) -> list[tuple[str, np.ndarray | None]]:
    """(sentence, ground truth or None) per goal: the given ones, or a referring + a reasoning."""
    from vrs_hq_ros.train.synthetic_expressions import REASONING, REFERRING, scene_expressions

    expressions = scene_expressions(scene, np.random.default_rng(args.scene))
    truth = {e.sentence: scene.mask(e.target) for e in expressions}
    if args.sentence:
        return [(s, truth.get(s.strip().lower())) for s in args.sentence]
    chosen = [next(e for e in expressions if e.type_id == kind)
              for kind in (REFERRING, REASONING) if any(e.type_id == kind for e in expressions)]
    return [(e.sentence, scene.mask(e.target)) for e in chosen]


def run(args: argparse.Namespace) -> int:
    """Run the demo; returns the exit status."""
    from vrs_hq_ros.engine.config import EngineConfig
    from vrs_hq_ros.engine.frames import Frame
    from vrs_hq_ros.engine.results import GoalAction, GoalCommand
    from vrs_hq_ros.engine.streaming import StreamingEngine
    from vrs_hq_ros.eval.metrics import f_measure, jaccard
    from vrs_hq_ros.eval.overlay import write_overlay_video
    from vrs_hq_ros.train.synthetic_benchmark import SPLIT_SEEDS
    from vrs_hq_ros.train.synthetic_scenes import make_scene

    model, model_name = _load_model(args.model, args.device)
    scene = make_scene(SPLIT_SEEDS["test"] + args.scene, num_frames=args.frames, size=args.size)
    goals = _demo_goals(args, scene)
    engine = StreamingEngine(model, EngineConfig(window_length=16, stride=8,
                                                 frames_per_window=8, deterministic=True))
    ids = [f"goal{k}" for k in range(len(goals))]
    for goal_id, (sentence, _) in zip(ids, goals, strict=True):
        engine.apply(GoalCommand(GoalAction.ADD, goal_id=goal_id, sentence=sentence))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, masks = [], {goal_id: [] for goal_id in ids}
    start = time.perf_counter()
    try:
        for i, rgb in enumerate(scene.frames):
            result = engine.push(Frame(stamp_ns=i * 100_000_000, rgb=rgb))  # a 10 Hz camera
            for goal_id in ids:
                rows.append(_result_row(result, goal_id))
                masks[goal_id].append(next(g.mask_hw for g in result.goals
                                           if g.goal_id == goal_id))
    finally:
        engine.close()
    wall_s = time.perf_counter() - start
    with open(out / "results.jsonl", "w") as fh:
        fh.writelines(json.dumps(row) + "\n" for row in rows)
    per_goal = []
    for k, (goal_id, (sentence, truth)) in enumerate(zip(ids, goals, strict=True)):
        video = write_overlay_video(out / f"overlay_{k}.mp4", list(scene.frames), masks[goal_id],
                                    fps=10.0, caption=sentence)
        entry = {"goal": goal_id, "sentence": sentence, "overlay": str(video)}
        if truth is not None:
            pred = np.stack(masks[goal_id])
            j, f = float(jaccard(pred, truth).mean()), float(f_measure(pred, truth).mean())
            entry.update({"J": round(j, 4), "F": round(f, 4), "J&F": round((j + f) / 2, 4)})
        per_goal.append(entry)
    summary = {"model": model_name, "scene": args.scene, "frames": len(scene.frames),
               "goals": per_goal,
               "ms_per_frame": round(wall_s / len(scene.frames) * 1e3, 1)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"model     {model_name}\nscene     test split #{args.scene}, {len(scene.frames)} "
          f"frames ({summary['ms_per_frame']} ms/frame on {args.device}, {len(goals)} goals)")
    for entry in per_goal:
        score = (f"J&F {entry['J&F']:.3f} (J {entry['J']:.3f}, F {entry['F']:.3f})"
                 if "J&F" in entry else "no ground truth for this sentence")
        print(f"{entry['sentence']!r:48s} {score}  -> {entry['overlay']}")
    print(f"wrote     {out / 'results.jsonl'}, {out / 'summary.json'}")
    return 0
