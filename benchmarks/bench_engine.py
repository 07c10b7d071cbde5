"""Benchmark of the streaming engine (tiny random VRS-HQ, CPU by default); prints tables.

1. Per-frame cost of ``push`` at frames ~100 / mid / end (one tracked goal, reasoning only
   once at the start) and peak RSS: must be flat.
2. That cost divided by the floor (SAM2 image encoder + memory attention + heads for one
   frame at the same size, and the floor with SAM2's memory encoder, which tracking needs),
   engine and floor measured interleaved in rounds; min / median over the rounds, as a
   neighbour's load moves both.
3. TKS cost (SAM2 part) with cached features vs encoding per call vs the official approach
   (every sampled frame re-encoded for every candidate), same window.
4. Latency of ``push`` while a reasoning run is in flight vs idle (asynchronous mode).
5. Tracking cost per frame with 1, 2, 4, 8 goals (the image is encoded once per frame; goals
   grounded by one run share a batched SAM2 call), the counts interleaved in rounds.

Torch threads follow the node's budget (``compute.threads``: half the cores for tracking)
unless ``--threads`` says otherwise. On a shared machine ``--clock cpu`` times sections 2 and
5 in the measuring thread's CPU time (one torch thread), which other processes do not stretch.

    .venv/bin/python benchmarks/bench_engine.py            # defaults: 256 px, 2,000 frames
    .venv/bin/python benchmarks/bench_engine.py --frames 300 --image-size 128   # quick look
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time

import numpy as np
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from vrs_hq_ros.engine.compute_budget import thread_budget, tune_malloc  # noqa: E402
from vrs_hq_ros.engine.config import EngineConfig  # noqa: E402
from vrs_hq_ros.engine.frames import Frame  # noqa: E402
from vrs_hq_ros.engine.results import GoalAction, GoalCommand  # noqa: E402
from vrs_hq_ros.engine.streaming import StreamingEngine  # noqa: E402
from vrs_hq_ros.model.config import SAM2Config, VRSHQConfig  # noqa: E402
from vrs_hq_ros.model.sam2_features import encode_frames  # noqa: E402
from vrs_hq_ros.model.sam2_prompting import decode_with_token  # noqa: E402
from vrs_hq_ros.model.vrshq import VRSHQ  # noqa: E402
from vrs_hq_ros.tracking.online_tracker import OnlineTracker  # noqa: E402

SENTENCE = "the red square"

# Timer of the cost and goals sections: wall time, or with --clock cpu the measuring thread's
# CPU time (all of torch's work with one thread), which a neighbour's load does not stretch.
clock = time.perf_counter


def build_model(image_size: int, sam2_arch: str) -> VRSHQ:
    torch.manual_seed(0)
    config = VRSHQConfig.tiny(image_size)
    if sam2_arch == "hiera_t":
        config.sam2 = SAM2Config.hiera_tiny(image_size)
    model = VRSHQ(config)
    with torch.no_grad():  # random object head leaning to "present": masks are not gated
        model.sam2.sam_mask_decoder.pred_obj_score_head.layers[-1].bias += 3.0
    return model


def iter_frames(count: int, size: int, seed: int = 0):
    """A square drifting over noise, made frame by frame as a camera delivers them."""
    rng = np.random.default_rng(seed)
    backgrounds = [rng.integers(0, 80, (size, size, 3), dtype=np.uint8) for _ in range(8)]
    for t in range(count):
        rgb = backgrounds[t % 8].copy()
        x = (t * 2) % (size // 2)
        rgb[size // 4:size // 2, x:x + size // 4] = (230, 40, 40)
        yield rgb


def make_frames(count: int, size: int, seed: int = 0) -> list[np.ndarray]:
    """``iter_frames`` as a list."""
    return list(iter_frames(count, size, seed))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def per_frame_cost(model: VRSHQ, frames, checkpoints: list[int],
                   span: int) -> dict[int, float]:
    """Median push time over ``span`` frames ending at each checkpoint (tracking only).

    The median, as the machine may be shared: a mean picks up other processes' bursts.
    """
    config = EngineConfig(deterministic=True, window_length=8, stride=10**9,
                          frames_per_window=4, max_age_s=1e9, lost_regrounding_frames=10**9)
    engine = StreamingEngine(model, config)
    engine.apply(GoalCommand(GoalAction.ADD, "g", SENTENCE))
    times = []
    rss = {}
    for i, rgb in enumerate(frames):
        start = time.perf_counter()
        engine.push(Frame((i + 1) * 33_000_000, rgb))
        times.append(time.perf_counter() - start)
        if i + 1 in checkpoints:
            rss[i + 1] = peak_rss_mb()
    engine.close()
    return {c: (statistics.median(times[c - span:c]), rss[c]) for c in checkpoints}


@torch.inference_mode()
def floor_cost(model: VRSHQ, frames: list[np.ndarray], repeats: int) -> tuple[float, float]:
    """Encoder + memory attention + heads, and the same plus the memory encoder, per frame."""
    sam2 = model.sam2
    tracker = OnlineTracker(sam2)
    memory = tracker.new_memory()
    feats = model.encode_frames(frames[:1])[0]
    mask = torch.zeros(frames[0].shape[:2], dtype=torch.bool)
    mask[10:40, 10:40] = True
    tracker.condition(memory, 0, mask, feats)
    for i in range(1, 20):  # fill the bank: 6 spatial memories, 15 pointers
        tracker.step(memory, i, feats)
    images = torch.stack([torch.zeros(3, sam2.image_size, sam2.image_size)])
    without, with_mem = [], []
    # Every repeat tracks frame 20 against the full bank, as every live frame does (a frame
    # further on would find fewer of its memories in this fixed bank, and cost less).
    for _ in range(repeats):
        start = clock()
        f = encode_frames(sam2, images)[0]
        pix = sam2._prepare_memory_conditioned_features(
            frame_idx=20, is_init_cond_frame=False, current_vision_feats=f.vision_feats[-1:],
            current_vision_pos_embeds=f.vision_pos_embeds[-1:], feat_sizes=f.feat_sizes[-1:],
            output_dict=memory.as_sam2_output_dict(), num_frames=2**62)
        sam2._forward_sam_heads(backbone_features=pix, high_res_features=f.high_res_maps(),
                                multimask_output=True)
        without.append(clock() - start)
        start = clock()
        f = encode_frames(sam2, images)[0]
        sam2.track_step(20, False, f.vision_feats, f.vision_pos_embeds, f.feat_sizes, None,
                        None, memory.as_sam2_output_dict(), 2**62)
        with_mem.append(clock() - start)
    return statistics.median(without), statistics.median(with_mem)


@torch.inference_mode()
def tks_cost(model: VRSHQ, frames: list[np.ndarray], repeats: int) -> dict[str, float]:
    """SAM2 seconds of keyframe selection on one window, three ways."""
    window = frames[:12]
    cached = model.encode_frames(window)
    reasoning = model.reason(window, SENTENCE, features=cached)
    sampled = reasoning.candidate_indices
    tak = reasoning.tak_fused
    rows = {"cached features (engine)": [], "encode sampled frames once": [],
            "official: re-encode all per candidate": []}
    for _ in range(repeats):
        start = time.perf_counter()
        decode_with_token(model.sam2, [cached[i] for i in sampled], tak)
        rows["cached features (engine)"].append(time.perf_counter() - start)
        start = time.perf_counter()
        feats = model.encode_frames([window[i] for i in sampled])
        decode_with_token(model.sam2, feats, tak)
        rows["encode sampled frames once"].append(time.perf_counter() - start)
        start = time.perf_counter()
        for position in range(len(sampled)):
            feats = model.encode_frames([window[i] for i in sampled])
            decode_with_token(model.sam2, [feats[position]], tak)
        rows["official: re-encode all per candidate"].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in rows.items()} | {"_n": len(sampled)}


def interleaved(model: VRSHQ, size: int, rounds: int, span: int) -> list[tuple[float, ...]]:
    """Rounds of (push median, floor median, floor+mem median), measured back to back."""
    config = EngineConfig(deterministic=True, window_length=8, stride=10**9,
                          frames_per_window=4, max_age_s=1e9, lost_regrounding_frames=10**9)
    engine = StreamingEngine(model, config)
    engine.apply(GoalCommand(GoalAction.ADD, "g", SENTENCE))
    frames = iter_frames(10**9, size, seed=2)
    floor_frames = make_frames(12, size)
    index, out = 0, []
    for _ in range(20):  # grounding + warm-up
        index += 1
        engine.push(Frame(index * 33_000_000, next(frames)))
    for _ in range(rounds):
        times = []
        for _ in range(span):
            index += 1
            rgb = next(frames)
            start = clock()
            engine.push(Frame(index * 33_000_000, rgb))
            times.append(clock() - start)
        floor, floor_mem = floor_cost(model, floor_frames, repeats=span // 2)
        out.append((statistics.median(times), floor, floor_mem))
    engine.close()
    return out


def goals_cost(model: VRSHQ, size: int, counts: tuple[int, ...], rounds: int,
               span: int) -> dict[int, list[float]]:
    """Median push time per round with each number of tracked goals (tracking only).

    One engine per count, all grounded first; each round pushes ``span`` frames through every
    engine in turn, so a neighbour's load hits all counts of a round alike.
    """
    config = EngineConfig(deterministic=True, window_length=8, stride=10**9,
                          frames_per_window=4, max_age_s=1e9, lost_regrounding_frames=10**9)
    engines = {}
    for goals in counts:
        engines[goals] = StreamingEngine(model, config)
        for g in range(goals):
            engines[goals].apply(GoalCommand(GoalAction.ADD, f"g{g}", SENTENCE))
    frames = make_frames(12 + rounds * span, size, seed=3)
    for i, rgb in enumerate(frames[:12]):  # grounding (one run per goal) + warm-up
        for engine in engines.values():
            engine.push(Frame((i + 1) * 33_000_000, rgb))
    out: dict[int, list[float]] = {goals: [] for goals in counts}
    for r in range(rounds):
        for goals, engine in engines.items():
            times = []
            for i in range(12 + r * span, 12 + (r + 1) * span):
                start = clock()
                engine.push(Frame((i + 1) * 33_000_000, frames[i]))
                times.append(clock() - start)
            out[goals].append(statistics.median(times))
    for engine in engines.values():
        engine.close()
    return out


def push_latency(model: VRSHQ, frames: list[np.ndarray]) -> dict[str, list[float]]:
    """Asynchronous engine: push latency with no reasoning scheduled vs a window every 2 frames.

    The second run splits pushes into those that found a run in flight and those that
    installed a finished run (re-conditioning + stepping what the worker left).
    """
    split: dict[str, list[float]] = {"idle (no reasoning)": [], "reasoning in flight": [],
                                     "installing a keyframe": []}
    runs = 0
    for stride in (10**9, 2):
        engine = StreamingEngine(model, EngineConfig(
            asynchronous=True, window_length=8, stride=stride, frames_per_window=4,
            max_age_s=1e9, lost_regrounding_frames=10**9))
        engine.apply(GoalCommand(GoalAction.ADD, "g", SENTENCE))
        for i, rgb in enumerate(frames):
            before = engine.stats()
            result = engine.push(Frame((i + 1) * 33_000_000, rgb))
            if i < 8:
                engine.wait_for_reasoning()  # the first window grounds the goal in both runs
                continue
            if stride > 8:
                split["idle (no reasoning)"].append(result.latency_s)
            elif engine.stats().keyframes_applied > before.keyframes_applied:
                split["installing a keyframe"].append(result.latency_s)
            elif before.reasoning_in_flight:
                split["reasoning in flight"].append(result.latency_s)
            time.sleep(0.01)  # a camera does not push back to back
        runs += engine.stats().reasoning_runs
        engine.close()
    split["_runs"] = [runs]
    return split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=256)
    parser.add_argument("--sam2", choices=("tiny_random", "hiera_t"), default="tiny_random",
                        help="SAM2 architecture (random weights either way)")
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--latency-frames", type=int, default=120)
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads (0: the node's budget for tracking)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved engine/floor rounds")
    parser.add_argument("--span", type=int, default=30, help="frames per round")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="timer of the cost and goals sections (cpu: this thread's CPU "
                             "time; needs --threads 1, the 2-core default)")
    parser.add_argument("--malloc-tuning", action="store_true",
                        help="raise glibc's malloc trim / mmap thresholds (A/B; the node does not)")
    parser.add_argument("--only", choices=("cost", "latency", "goals", "tks", "flat"),
                        action="append", help="run only these sections")
    args = parser.parse_args()
    torch.set_num_threads(args.threads or thread_budget(0)[0])
    if args.clock == "cpu":
        if torch.get_num_threads() != 1:
            parser.error("--clock cpu measures one thread: use --threads 1")
        global clock
        clock = time.thread_time
    malloc = tune_malloc() if args.malloc_tuning else False
    only = set(args.only or ("cost", "latency", "goals", "tks", "flat"))
    model = build_model(args.image_size, args.sam2)
    size = args.image_size
    print(f"# engine benchmark: SAM2 {args.sam2} at {size} px, frames {size}x{size}, "
          f"torch threads {torch.get_num_threads()}, malloc tuned {malloc}, device cpu, "
          f"clock {args.clock}, "
          f"load avg {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if "cost" in only:
        rows = interleaved(model, size, args.rounds, args.span)
        print(f"\n| round ({args.span} frames) | push ms | floor ms | push / floor "
              "| floor+mem ms | push / floor+mem |")
        print("|---|---|---|---|---|---|")
        for r, (push, floor, floor_mem) in enumerate(rows):
            print(f"| {r} | {push * 1e3:.1f} | {floor * 1e3:.1f} | {push / floor:.2f} | "
                  f"{floor_mem * 1e3:.1f} | {push / floor_mem:.2f} |")
        ratios = [p / f for p, f, _ in rows]
        ratios_mem = [p / m for p, _, m in rows]
        print(f"push / floor: min {min(ratios):.2f} median {statistics.median(ratios):.2f}; "
              f"push / floor+mem: min {min(ratios_mem):.2f} median "
              f"{statistics.median(ratios_mem):.2f}")
    if "goals" in only:
        _goals_table(model, args, size)
    if "latency" in only:
        _latency_table(model, args, size)
    if "tks" in only:
        _tks_table(model, make_frames(12, size))
    if "flat" in only:
        _flat_table(model, args, size)
    print(f"\npeak RSS {peak_rss_mb():.0f} MB")


def _goals_table(model, args, size) -> None:
    counts = (1, 2, 4, 8)
    cost = goals_cost(model, size, counts, args.rounds, args.span)
    print(f"\n| goals | push ms/frame (min / median of {args.rounds} rounds) "
          "| x one goal (min / median of rounds) |")
    print("|---|---|---|")
    for goals in counts:
        ratios = [t / one for t, one in zip(cost[goals], cost[1], strict=True)]
        print(f"| {goals} | {min(cost[goals]) * 1e3:.1f} / "
              f"{statistics.median(cost[goals]) * 1e3:.1f} | {min(ratios):.2f} / "
              f"{statistics.median(ratios):.2f} |")


def _flat_table(model, args, size) -> None:

    checkpoints = sorted({min(100, args.frames), args.frames // 2, args.frames})
    cost = per_frame_cost(model, iter_frames(args.frames, size), checkpoints,
                          span=min(100, checkpoints[0]))
    print("\n| frame | push ms/frame (median of 100) | peak RSS MB |")
    print("|---|---|---|")
    for frame, (seconds, rss) in cost.items():
        print(f"| {frame} | {seconds * 1e3:.1f} | {rss:.0f} |")


def _tks_table(model, frames) -> None:
    tks = tks_cost(model, frames, repeats=3)
    n = tks.pop("_n")
    print(f"\n| TKS SAM2 part, {n} candidates from a 12-frame window | ms | x cached |")
    print("|---|---|---|")
    base = tks["cached features (engine)"]
    for name, seconds in tks.items():
        print(f"| {name} | {seconds * 1e3:.1f} | {seconds / base:.1f} |")


def _latency_table(model, args, size) -> None:
    split = push_latency(model, make_frames(args.latency_frames, size, seed=1))
    runs = split.pop("_runs")[0]
    print(f"\n| push latency (async, {runs} reasoning runs) | n | p50 ms | p99 ms |")
    print("|---|---|---|---|")
    for name, values in split.items():
        if values:
            p50, p99 = np.percentile(np.array(values) * 1e3, [50, 99])
            print(f"| {name} | {len(values)} | {p50:.1f} | {p99:.1f} |")


if __name__ == "__main__":
    main()
