"""Isolation probe: can a 4-layer LLaMA of the shipped sizes learn the rule-dependent pick?

Perception is taken out. Each visual token is one object in one sampled frame with its
ground-truth features (look one-hot, centre, visible share; by option the frame's place in the
window, the velocity to the next sampled frame, the speed). The LLaMA reads T' = 8-12 such
frames, the sentence and a [TAK] token; [TAK]'s last state scores each of the scene's objects
against a linear embedding of its look; cross-entropy over the objects. ``--attend`` adds
-log(attention mass on the target's tokens) for heads 0-1 of layers 1-2 at [TAK] (the
trainer's ``attend_weight``). ``--noisy`` makes the tokens look like the real tower's: an
object becomes 1-4 patch-sized tokens with the tower's measured errors, among background
tokens. Prints top-1 and the target's attention mass per rule on held-out scenes.

Usage: python benchmarks/select_probe.py --out runs/probe_c --steps 1000 --attend
       [--no-frame-place] [--no-velocity] [--speed] [--noisy] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from transformers import LlamaConfig, LlamaModel

from vrs_hq_ros.train.datasets import segment_indices
from vrs_hq_ros.train.run_config import TRAIN_SEEDS, VAL_SEEDS
from vrs_hq_ros.train.synthetic_expressions import (
    PHRASES,
    REASONING,
    SceneExpression,
    scene_expressions,
)
from vrs_hq_ros.train.synthetic_scenes import COLOURS, SHAPES, TEXTURES, make_scene

SIZE_PX = 96
LOOK_DIM = len(COLOURS) + len(SHAPES) + 2 + len(TEXTURES)
VISIBLE_MIN = 0.05  # an object shows in a frame's tokens from this visible share on
PATCH_GRID = 6  # the real tower: 36 patch tokens a frame
ATTEND_LAYERS, ATTEND_HEADS = (1, 2), 2


@dataclass(frozen=True)
class ProbeOptions:
    """Which features a token carries and whether tokens are clean or tower-like."""

    frame_place: bool = True
    velocity: bool = True
    speed: bool = False
    noisy: bool = False
    background_tokens: int = 8  # per frame, with ``noisy``

    @property
    def num_features(self) -> int:
        return LOOK_DIM + 3 + self.frame_place + 2 * self.velocity + self.speed + 1


@dataclass(frozen=True)
class SceneSummary:
    """What the probe needs of a scene: looks [N, LOOK_DIM], radii [N] / side, centres
    [T, N, 2] / side, visible shares [T, N] and the scene's sentences."""

    looks: np.ndarray
    radii: np.ndarray
    centres: np.ndarray
    visible: np.ndarray
    expressions: list[SceneExpression]


def look_vector(look: tuple[str, str, str, str]) -> np.ndarray:
    colour, shape, size, texture = look
    v = np.zeros(LOOK_DIM, np.float32)
    v[list(COLOURS).index(colour)] = 1
    v[len(COLOURS) + SHAPES.index(shape)] = 1
    v[len(COLOURS) + len(SHAPES) + (size == "large")] = 1
    v[len(COLOURS) + len(SHAPES) + 2 + TEXTURES.index(texture)] = 1
    return v


def summarise(seed: int) -> SceneSummary:
    rng = np.random.default_rng(seed + 7)
    scene = make_scene(seed, num_frames=int(rng.integers(20, 33)), size=SIZE_PX)
    n = len(scene.objects)
    return SceneSummary(
        np.stack([look_vector(o.look) for o in scene.objects]),
        np.array([o.radius_px / SIZE_PX for o in scene.objects]),
        np.stack([o.centres_xy for o in scene.objects], 1) / SIZE_PX,
        np.stack([scene.visible_fraction(k) for k in range(n)], 1).astype(np.float32),
        scene_expressions(scene, rng))


@dataclass
class Sample:
    """One sentence over one window: tokens [L, F], their object (-1 background), words,
    the scene's looks [N, LOOK_DIM], the target, the rule."""

    tokens: np.ndarray
    owner: np.ndarray
    words: list[int]
    looks: np.ndarray
    target: int
    rule: str


def window_tokens(s: SceneSummary, opts: ProbeOptions, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Visual tokens of T' sampled frames, frame by frame -> ([L, F], owner [L])."""
    num_frames = s.centres.shape[0]
    idx = segment_indices(num_frames, int(rng.integers(8, 13)), rng)
    rows, owners = [], []
    for i, t in enumerate(idx):
        j, sign = (i + 1, 1.0) if i + 1 < len(idx) else (i - 1, -1.0)
        vel = sign * (s.centres[idx[j]] - s.centres[t]) / max(abs(idx[j] - t), 1) * 20
        frame_rows, frame_owners = [], []
        for k in np.flatnonzero(s.visible[t] >= VISIBLE_MIN):
            copies = 1
            if opts.noisy:  # the patches it covers, 1-4 of them
                area = s.visible[t, k] * np.pi * s.radii[k] ** 2 * PATCH_GRID ** 2
                copies = int(np.clip(round(2 * area), 1, 4))
            for _ in range(copies):
                frame_rows.append(_features(s.looks[k], s.centres[t, k], s.visible[t, k],
                                            i / max(len(idx) - 1, 1), vel[k], opts, rng))
                frame_owners.append(k)
        if opts.noisy:
            for _ in range(opts.background_tokens):
                frame_rows.append(_background(i / max(len(idx) - 1, 1), opts, rng))
                frame_owners.append(-1)
        order = rng.permutation(len(frame_rows))
        rows += [frame_rows[o] for o in order]
        owners += [frame_owners[o] for o in order]
    return np.stack(rows).astype(np.float32), np.array(owners)


def _features(look: np.ndarray, centre: np.ndarray, visible: float, place: float,
              vel: np.ndarray, opts: ProbeOptions, rng: np.random.Generator) -> np.ndarray:
    look = look.copy()
    centre, vel = centre.copy(), vel.copy()
    if opts.noisy:  # the tower's measured errors: shape 0.45, size 0.83, centre 0.053 side
        if rng.random() < 0.55:
            look[len(COLOURS):len(COLOURS) + len(SHAPES)] = np.eye(len(SHAPES))[
                rng.integers(len(SHAPES))]
        if rng.random() < 0.17:
            look[len(COLOURS) + len(SHAPES):len(COLOURS) + len(SHAPES) + 2] = \
                look[len(COLOURS) + len(SHAPES):len(COLOURS) + len(SHAPES) + 2][::-1]
        centre += rng.normal(0, 0.053, 2)
        vel += rng.normal(0, 0.013 * 20, 2)
    parts = [look, centre, [visible]]
    if opts.frame_place:
        parts.append([place])
    if opts.velocity:
        parts.append(vel)
    if opts.speed:
        parts.append([np.linalg.norm(vel)])
    parts.append([1.0])  # an object token
    return np.concatenate([np.asarray(p, np.float32) for p in parts])


def _background(place: float, opts: ProbeOptions, rng: np.random.Generator) -> np.ndarray:
    row = np.zeros(opts.num_features, np.float32)
    row[LOOK_DIM:LOOK_DIM + 2] = rng.uniform(0, 1, 2)
    if opts.frame_place:
        row[LOOK_DIM + 3] = place
    return row


class Vocabulary:
    """Word ids of every sentence the scenes can say, plus [TAK] and padding."""

    def __init__(self):
        words = {w for phrases in PHRASES.values() for p in phrases for w in _split(p)}
        words |= set(COLOURS) | set(SHAPES) | set(TEXTURES) | {"small", "large", "object",
                                                                 "one", "the"}
        self.ids = {w: i + 2 for i, w in enumerate(sorted(words))}
        self.pad, self.tak = 0, 1

    def __len__(self) -> int:
        return len(self.ids) + 2

    def encode(self, sentence: str) -> list[int]:
        return [self.ids[w] for w in _split(sentence)] + [self.tak]


def _split(sentence: str) -> list[str]:
    return sentence.replace("?", "").split()


class SelectProbe(torch.nn.Module):
    """LLaMA of the shipped sizes over probe tokens; [TAK] scores the scene's looks."""

    def __init__(self, num_features: int, vocab_size: int):
        super().__init__()
        hidden = 128
        config = LlamaConfig(vocab_size=vocab_size, hidden_size=hidden, intermediate_size=256,
                             num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=4,
                             initializer_range=hidden ** -0.5, rms_norm_eps=1e-6,
                             max_position_embeddings=2048, attn_implementation="eager")
        self.llm = LlamaModel(config)
        self.visual = torch.nn.Linear(num_features, hidden)
        self.answer = torch.nn.Linear(hidden, hidden)
        self.look = torch.nn.Linear(LOOK_DIM, hidden)

    def forward(self, batch: list[Sample]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """-> scores [B, 4] (-inf past a scene's objects), [TAK] attention [B, layers, heads, L]
        over the sequence, visual-token mask [B, L] of the target's tokens."""
        seqs = [torch.cat([self.visual(torch.from_numpy(s.tokens)),
                           self.llm.embed_tokens(torch.tensor(s.words))]) for s in batch]
        length = max(len(x) for x in seqs)
        embeds = torch.stack([F.pad(x, (0, 0, 0, length - len(x))) for x in seqs])
        mask = torch.zeros(len(batch), length, dtype=torch.long)
        target_tokens = torch.zeros(len(batch), length, dtype=torch.bool)
        for b, (s, x) in enumerate(zip(batch, seqs, strict=True)):
            mask[b, :len(x)] = 1
            target_tokens[b, :len(s.owner)] = torch.from_numpy(s.owner == s.target)
        out = self.llm(inputs_embeds=embeds, attention_mask=mask, output_attentions=True)
        last = mask.sum(1) - 1
        rows = torch.arange(len(batch))
        tak = self.answer(out.last_hidden_state[rows, last])
        scores = torch.full((len(batch), 4), float("-inf"))
        for b, s in enumerate(batch):
            scores[b, :len(s.looks)] = self.look(torch.from_numpy(s.looks)) @ tak[b]
        attn = torch.stack([out.attentions[layer][rows, :ATTEND_HEADS, last]
                            for layer in ATTEND_LAYERS], 1)
        return scores, attn, target_tokens


def draw_samples(scenes: list[SceneSummary], count: int, opts: ProbeOptions, vocab: Vocabulary,
                 rng: np.random.Generator, reasoning_share: float = 0.7) -> list[Sample]:
    out = []
    while len(out) < count:
        s = scenes[int(rng.integers(len(scenes)))]
        reasoning = [e for e in s.expressions if e.type_id == REASONING]
        referring = [e for e in s.expressions if e.type_id != REASONING]
        pool = reasoning if reasoning and rng.random() < reasoning_share else referring
        if pool:
            out.append(_sample(s, pool[int(rng.integers(len(pool)))], opts, vocab, rng))
    return out


def _sample(s: SceneSummary, e: SceneExpression, opts: ProbeOptions, vocab: Vocabulary,
            rng: np.random.Generator) -> Sample:
    tokens, owner = window_tokens(s, opts, rng)
    return Sample(tokens, owner, vocab.encode(e.sentence), s.looks, e.target, e.rule)


def evaluate(model: SelectProbe, samples: list[Sample]) -> dict[str, dict[str, float]]:
    """Top-1 and the supervised heads' attention mass on the target, per rule."""
    hits: dict[str, list[float]] = {}
    mass: dict[str, list[float]] = {}
    model.eval()
    with torch.no_grad():
        for i in range(0, len(samples), 64):
            batch = samples[i:i + 64]
            scores, attn, target_tokens = model(batch)
            m = (attn * target_tokens[:, None, None]).sum(-1).mean((1, 2))
            for b, s in enumerate(batch):
                hits.setdefault(s.rule, []).append(float(scores[b].argmax() == s.target))
                mass.setdefault(s.rule, []).append(float(m[b]))
    model.train()
    return {r: {"top1": round(float(np.mean(hits[r])), 3),
                "mass": round(float(np.mean(mass[r])), 3), "n": len(hits[r])}
            for r in sorted(hits)}


def probe_losses(model: SelectProbe, batch: list[Sample]) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy over the scene's looks, and -log of the supervised heads' mass on the
    target's tokens (averaged over samples, layers and heads)."""
    scores, attn, target_tokens = model(batch)
    answer = F.cross_entropy(scores, torch.tensor([s.target for s in batch]))
    mass = (attn * target_tokens[:, None, None]).sum(-1)
    return answer, -torch.log(mass.clamp_min(1e-6)).mean()


def fit(model: torch.nn.Module, val: list[Sample], next_batch: Callable[[], list[Sample]],
        steps: int, lr: float, attend_weight: float, eval_every: int, out: Path) -> None:
    """Train on ``next_batch()`` batches (answer + ``attend_weight`` x attention term) and
    print / append to ``out``/log.jsonl the ``evaluate`` table every ``eval_every`` steps."""
    optim = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    out.mkdir(parents=True, exist_ok=True)
    start = time.time()
    with (out / "log.jsonl").open("a") as log:
        for step in range(1, steps + 1):
            for group in optim.param_groups:
                group["lr"] = lr * min(1.0, step / 100)
            answer, attend = probe_losses(model, next_batch())
            optim.zero_grad()
            (answer + attend_weight * attend).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optim.step()
            if step % eval_every == 0 or step == steps:
                record = {"step": step, "seconds": round(time.time() - start),
                          "answer": round(answer.item(), 3),
                          "attend": round(attend.item(), 3), "val": evaluate(model, val)}
                print(json.dumps(record), flush=True)
                log.write(json.dumps(record) + "\n")
                log.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--attend", type=float, default=0.0, help="attention term weight")
    parser.add_argument("--no-frame-place", action="store_true")
    parser.add_argument("--no-velocity", action="store_true")
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--noisy", action="store_true")
    parser.add_argument("--train-scenes", type=int, default=4000)
    parser.add_argument("--val-scenes", type=int, default=150)
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    opts = ProbeOptions(not args.no_frame_place, not args.no_velocity, args.speed, args.noisy)
    vocab = Vocabulary()
    train = [summarise(TRAIN_SEEDS + k) for k in range(args.train_scenes)]
    val_rng = np.random.default_rng(12345)
    val = [_sample(s, e, opts, vocab, val_rng) for s in
           (summarise(VAL_SEEDS + k) for k in range(args.val_scenes)) for e in s.expressions]
    model = SelectProbe(opts.num_features, len(vocab))
    rng = np.random.default_rng(args.seed)
    fit(model, val, lambda: draw_samples(train, args.batch, opts, vocab, rng), args.steps,
        args.lr, args.attend, args.eval_every, args.out)

if __name__ == "__main__":
    main()
