"""TAK' top-1 per rule and [TAK]'s attention on the target, for a training checkpoint.

Builds the run's model from its config, loads a checkpoint of ``vrs-hq train``, draws every
sentence of the first ``--scenes`` val scenes (reasoning ones over T' frames, referring ones
over two, as the batched ``words`` stage reads them) and prints, per rule: how often TAK' is
closest to the target's full look token among the scene's objects (``look_accuracy``), and the
mean attention mass the supervised heads put on the target's visual tokens (``attend_*`` of the
config's last stage that sets them; layers 1-2, heads 0-1 otherwise).

Usage: python benchmarks/words_probe.py runs/attend_f/run_config.json \
           runs/attend_f/checkpoints/step_4540 [--scenes 60]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402

from vrs_hq_ros.train.run_config import VAL_SEEDS, RunConfig  # noqa: E402
from vrs_hq_ros.train.trainer import build_model, draw_scene  # noqa: E402
from vrs_hq_ros.train.training_run import TrainingRun, load_checkpoint  # noqa: E402
from vrs_hq_ros.train.words_batch import WordsDraw, draw_words_samples, fused_tokens, look_accuracy  # noqa: E402


def attention_mass(model, samples, layers: tuple[int, ...], heads: int, batch: int = 16
                   ) -> dict[str, float]:
    """Mean attention mass of the first ``heads`` heads of ``layers`` on the target's tokens."""
    mass: dict[str, list[float]] = {}
    with torch.no_grad():
        for start in range(0, len(samples), batch):
            chunk = samples[start:start + batch]
            for sample, rows in zip(chunk, fused_tokens(model, chunk, layers)[1], strict=True):
                if sample.target_tokens is None or len(sample.target_tokens) == 0:
                    continue
                value = float(rows[:, :heads][..., sample.target_tokens].sum(-1).mean())
                kind = "reasoning" if sample.reasoning else "referring"
                for key in (kind, f"rule:{sample.rule}"):
                    mass.setdefault(key, []).append(value)
    return {key: round(float(np.mean(v)), 3) for key, v in sorted(mass.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path, help="run_config.json of the run (or its yaml)")
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--scenes", type=int, default=60)
    args = parser.parse_args()
    config = (RunConfig.from_dict(json.loads(args.config.read_text()))
              if args.config.suffix == ".json" else RunConfig.from_yaml(args.config))
    tokenizer_dir = args.checkpoint.parent.parent / "tokenizer"
    tokenizer = (AutoTokenizer.from_pretrained(tokenizer_dir, local_files_only=True)
                 if tokenizer_dir.is_dir() else None)
    model, looks = build_model(config, tokenizer)
    run = TrainingRun(model, looks)
    step = load_checkpoint(run, args.checkpoint)
    model.eval()
    attending = [s for s in config.stages if s.attend_weight > 0]
    layers = tuple(attending[-1].attend_layers) if attending else (1, 2)
    heads = attending[-1].attend_heads if attending else 2
    draw = WordsDraw(args.scenes, 1 << 10, 1.0, 0.0, 0.0, config.data.sampled_min,
                     config.data.sampled_max, False)
    samples = []
    for k in range(args.scenes):  # every sentence: reasoning share 1 takes those first
        samples += draw_words_samples(model.backbone, draw, [VAL_SEEDS + k],
                                      lambda seed, num_objects=None: draw_scene(
                                          config, seed, num_objects))
    print(json.dumps({"step": step, "sentences": len(samples),
                      "top1": look_accuracy(model, looks, samples),
                      "mass": attention_mass(model, samples, layers, heads)}, indent=1))


if __name__ == "__main__":
    main()
