"""The training mix: sets drawn by per-set rates, deterministic per sample index, sharded by rank.

Sample ``i`` of a run is a pure function of (run seed, i): a generator seeded with both picks
the set (probability proportional to its ``rate``, as the official ``sample_rates``), the item
and the frames. So the data position of a run is one integer (samples consumed), a resumed
run continues exactly, and ranks split the stream without talking to each other: micro-step
``m`` of rank ``r`` (batch ``B``, ``W`` ranks) holds samples ``m*B*W + r*B ... + B - 1``
(counted from the run's data cursor, so a run may resume on a different number of ranks).
One step of 2 ranks x batch 1 therefore sees the same samples as 1 rank x batch 2.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
from torch.utils.data import Dataset

from vrs_hq_ros.model.prompt import NUM_ANSWER_VARIANTS, num_question_variants
from vrs_hq_ros.train.datasets import (
    VIDEO_KINDS,
    FrameRange,
    SampleSource,
    SyntheticSource,
    TrainingDataError,
    TrainSample,
    load_video_source,
)
from vrs_hq_ros.train.datasets_image import IMAGE_KINDS, ReasonSegSource, ReferSource
from vrs_hq_ros.train.finetune_config import DataConfig, DataSetSpec

log = logging.getLogger(__name__)


def build_source(spec: DataSetSpec, frames: FrameRange) -> SampleSource:
    """Read and check one set of the mix."""
    if spec.kind == "synthetic":
        return SyntheticSource(spec.label, spec.num_clips, spec.size, spec.clip_frames, frames,
                               spec.seed)
    if spec.kind in VIDEO_KINDS:
        return load_video_source(spec.label, spec.kind, spec.root, frames, spec.meta, spec.split)
    if spec.kind == "reasonseg":
        return ReasonSegSource(spec.label, _root(spec), spec.split)
    if spec.kind in IMAGE_KINDS:
        return ReferSource(spec.label, spec.kind, _root(spec), spec.split, spec.images_dir)
    raise TrainingDataError(f"training set {spec.label!r}: unknown kind {spec.kind!r} "
                            f"(one of {(*VIDEO_KINDS, *IMAGE_KINDS)})")


def _root(spec: DataSetSpec) -> str:
    if spec.root is None:
        raise TrainingDataError(f"training set {spec.label!r} has no 'root'")
    return spec.root


class MixedSamples:
    """Sample ``i`` of the mix; indices are unbounded (sampling is with replacement)."""

    def __init__(self, sources: list[SampleSource], rates: list[float], seed: int = 0):
        if not sources:
            raise TrainingDataError("the training config lists no data sets (data.sets)")
        if len(rates) != len(sources) or min(rates) < 0 or sum(rates) <= 0:
            raise TrainingDataError(f"rates must be >= 0 with a positive sum, got {rates}")
        self.sources = sources
        self.probabilities = np.asarray(rates, np.float64) / float(sum(rates))
        self.seed = seed

    @classmethod
    def from_config(cls, config: DataConfig, seed: int = 0) -> MixedSamples:
        """Read every set of ``config`` (fails early on a layout error)."""
        frames = FrameRange(config.frames_min, config.frames_max)
        sources = [build_source(spec, frames) for spec in config.sets]
        for spec, source in zip(config.sets, sources, strict=True):
            log.info("set %s: %d items, rate %g", spec.label, len(source), spec.rate)
        return cls(sources, [s.rate for s in config.sets], seed)

    def __getitem__(self, index: int) -> TrainSample:
        rng = np.random.default_rng([self.seed, index])
        source = self.sources[int(rng.choice(len(self.sources), p=self.probabilities))]
        sample = source.sample(int(rng.integers(len(source))), rng)
        # the official data draws the question and answer templates per sample
        return dataclasses.replace(
            sample, question_variant=int(rng.integers(num_question_variants(sample.sentence))),
            answer_variant=int(rng.integers(NUM_ANSWER_VARIANTS)))


class RankMicroBatches(Dataset):
    """This rank's micro-batches after ``first_sample`` samples of the run: item k = B samples."""

    def __init__(self, mix: MixedSamples, first_sample: int, num_micro_steps: int,
                 batch_size: int, num_ranks: int, rank: int):
        self.mix, self.first_sample, self.count = mix, first_sample, num_micro_steps
        self.batch_size, self.num_ranks, self.rank = batch_size, num_ranks, rank

    def __len__(self) -> int:
        return self.count

    def sample_indices(self, k: int) -> list[int]:
        """Global sample indices of this rank's k-th micro-batch."""
        first = self.first_sample + (k * self.num_ranks + self.rank) * self.batch_size
        return list(range(first, first + self.batch_size))

    def __getitem__(self, k: int) -> list[TrainSample]:
        return [self.mix[i] for i in self.sample_indices(k)]


def keep_batch(batch: list[TrainSample]) -> list[TrainSample]:
    """DataLoader ``collate_fn``: samples differ in size, so a batch stays a list."""
    return batch
