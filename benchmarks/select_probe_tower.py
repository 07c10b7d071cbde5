"""The isolation probe over a trained tower's real patch tokens instead of ground-truth ones.

Between ``select_probe.py`` (clean or simulated tokens) and the full MLLM: the tower of a
``vrs-hq train`` checkpoint (frozen) encodes each sentence's T' frames; its patch tokens, as
LLaVA hands them to the projector, plus the frame's place in the window, go through a
2-layer MLP into the probe's LLaMA; the target's tokens are the patches it owns
(``tower_looks.OWNED``). Training and evaluation are the probe's: cross-entropy over the
scene's looks, and ``--attend`` on heads 0-1 of layers 1-2. Windows are encoded once, before
training (``--train-scenes`` scenes, every sentence once).

Usage: python benchmarks/select_probe_tower.py runs/attend_f/run_config.json \
           runs/attend_f/checkpoints/step_4540 --out runs/probe_tower --attend 1 \
           [--pool-objects | --clusters 8 | --group-by-looks]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from safetensors.torch import load_model  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from select_probe import Sample, SelectProbe, Vocabulary, fit, look_vector  # noqa: E402

from vrs_hq_ros.model.chatunivi_clustering import dpc_knn, merge_clusters  # noqa: E402
from vrs_hq_ros.train.datasets import segment_indices  # noqa: E402
from vrs_hq_ros.train.run_config import TRAIN_SEEDS, VAL_SEEDS, RunConfig  # noqa: E402
from vrs_hq_ros.train.synthetic_expressions import scene_expressions  # noqa: E402
from vrs_hq_ros.train.tower_looks import (  # noqa: E402
    TowerLookHeads,
    patch_attribute_labels,
    tower_patch_features,
)
from vrs_hq_ros.train.trainer import build_model, draw_scene  # noqa: E402
from vrs_hq_ros.train.training_run import (  # noqa: E402
    TOWER_HEADS_FILE,
    TrainingRun,
    load_checkpoint,
)


@torch.no_grad()
def encode_scene(backbone, config: RunConfig, seed: int, vocab: Vocabulary,
                 pool_objects: bool = False, clusters: int = 0,
                 heads: TowerLookHeads | None = None) -> list[Sample]:
    """Every sentence of scene ``seed`` over its own T' frames, as tower tokens.

    ``pool_objects``: one token per object and frame, the mean of the patches it owns
    (background dropped), as a perfect merging of patches into objects would give.
    ``clusters``: each frame's patches merged into that many DPC-KNN clusters (Chat-UniVi's
    merge, one step); a cluster belongs to the owner of most of its patches.
    ``heads``: the tower's own look heads group each frame's patches: those it calls an
    object, by predicted colour, size and texture (shape, read at ~0.45, is left out); one
    token per group, owned by the owner of most of its patches. No ground truth is used.
    """
    scene, rng = draw_scene(config, seed)
    grid = backbone.cfg.vision_image_size // backbone.cfg.vision_patch_size
    looks = np.stack([look_vector(o.look) for o in scene.objects])
    out = []
    for e in scene_expressions(scene, rng):
        idx = sorted(segment_indices(len(scene.frames), int(rng.integers(8, 13)), rng))
        features = tower_patch_features(backbone, backbone.preprocess_frames(
            [scene.frames[i] for i in idx]))  # [T', tokens, width]
        place = torch.linspace(0, 1, len(idx))[:, None, None].expand(*features.shape[:2], 1)
        tokens = torch.cat([features, place], -1).flatten(0, 1).numpy().astype(np.float32)
        owner = patch_attribute_labels(scene, idx, grid)["owner"].reshape(-1).astype(int) - 1
        if pool_objects:
            tokens, owner = _pooled(tokens, owner, len(idx))
        elif clusters:
            tokens, owner = _clustered(tokens, owner, len(idx), clusters)
        elif heads is not None:
            logits = heads.logits(features.flatten(0, 1))
            key = torch.stack([logits[name].argmax(-1) for name in ("colour", "size", "texture")],
                              -1).numpy()
            tokens, owner = _grouped(tokens, owner, len(idx), key)
        out.append(Sample(tokens, owner, vocab.encode(e.sentence), looks, e.target, e.rule))
    return out


def _pooled(tokens: np.ndarray, owner: np.ndarray, frames: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """Mean token of each object's owned patches, frame by frame -> ([L', F], owner [L'])."""
    rows, owners = [], []
    per_frame = len(owner) // frames
    for f in range(frames):
        span = slice(f * per_frame, (f + 1) * per_frame)
        for k in np.unique(owner[span][owner[span] >= 0]):
            rows.append(tokens[span][owner[span] == k].mean(0))
            owners.append(k)
    if not rows:  # nothing owned anywhere: keep one background token
        return tokens[:1], np.array([-1])
    return np.stack(rows).astype(np.float32), np.array(owners)


def _clustered(tokens: np.ndarray, owner: np.ndarray, frames: int, clusters: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """Each frame's tokens merged into ``clusters`` DPC-KNN clusters -> ([T' * clusters, F],
    owner: the most frequent owner among each cluster's patches)."""
    x = torch.from_numpy(tokens).reshape(frames, -1, tokens.shape[1])
    features = x[..., :-1]  # the frame place column takes no part in the distances
    assign = dpc_knn(features, clusters, min(3, max(clusters // 2, 1)))
    merged = merge_clusters(x, assign, clusters).reshape(-1, tokens.shape[1])
    patch_owner = owner.reshape(frames, -1)
    owners = [np.bincount(patch_owner[f][assign[f].numpy() == c] + 1, minlength=6).argmax() - 1
              for f in range(frames) for c in range(clusters)]
    return merged.numpy().astype(np.float32), np.array(owners)


def _grouped(tokens: np.ndarray, owner: np.ndarray, frames: int, key: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """Mean token of the patches sharing a predicted look, frame by frame; ``key`` [L, 3]
    holds predicted classes, colour first (0: background, dropped)."""
    rows, owners = [], []
    per_frame = len(owner) // frames
    for f in range(frames):
        span = slice(f * per_frame, (f + 1) * per_frame)
        frame_key, frame_owner = key[span], owner[span]
        for look in np.unique(frame_key[frame_key[:, 0] > 0], axis=0):
            members = (frame_key == look).all(1)
            rows.append(tokens[span][members].mean(0))
            owners.append(np.bincount(frame_owner[members] + 1, minlength=6).argmax() - 1)
    if not rows:
        return tokens[:1], np.array([-1])
    return np.stack(rows).astype(np.float32), np.array(owners)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--attend", type=float, default=1.0)
    parser.add_argument("--train-scenes", type=int, default=1200)
    parser.add_argument("--val-scenes", type=int, default=100)
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--pool-objects", action="store_true")
    parser.add_argument("--clusters", type=int, default=0, help="DPC-KNN clusters a frame")
    parser.add_argument("--group-by-looks", action="store_true",
                        help="group patches by the tower heads' predicted looks")
    args = parser.parse_args()
    torch.manual_seed(0)
    config = RunConfig.from_dict(json.loads(args.config.read_text()))
    model, looks = build_model(config)
    load_checkpoint(TrainingRun(model, looks), args.checkpoint)
    backbone = model.backbone.eval()
    heads = None
    if args.group_by_looks:
        heads = TowerLookHeads.seeded(backbone.llava.config.vision_config.hidden_size)
        load_model(heads, str(args.checkpoint / TOWER_HEADS_FILE))
    vocab = Vocabulary()
    start = time.time()
    train = [encode_scene(backbone, config, TRAIN_SEEDS + k, vocab, args.pool_objects,
                          args.clusters, heads)
             for k in range(args.train_scenes)]
    val = [s for k in range(args.val_scenes)
           for s in encode_scene(backbone, config, VAL_SEEDS + k, vocab, args.pool_objects,
                                 args.clusters, heads)]
    print(f"encoded {sum(map(len, train))} train / {len(val)} val sentences in "
          f"{time.time() - start:.0f} s", flush=True)
    probe = SelectProbe(train[0][0].tokens.shape[1], len(vocab))
    width = probe.visual.out_features
    probe.visual = torch.nn.Sequential(torch.nn.Linear(train[0][0].tokens.shape[1], width),
                                       torch.nn.GELU(), torch.nn.Linear(width, width))
    rng = np.random.default_rng(0)

    def next_batch() -> list[Sample]:  # 70 % reasoning sentences where a scene has one
        batch: list[Sample] = []
        while len(batch) < args.batch:
            scene = train[int(rng.integers(len(train)))]
            reasoning = [s for s in scene if s.rule != "look"]
            pool = reasoning if reasoning and rng.random() < 0.7 else \
                [s for s in scene if s.rule == "look"]
            if pool:
                batch.append(pool[int(rng.integers(len(pool)))])
        return batch

    fit(probe, val, next_batch, args.steps, args.lr, args.attend, args.eval_every, args.out)

if __name__ == "__main__":
    main()
