"""The text the tiny model reads, and the BPE tokenizer learnt from it.

The corpus is every conversation the model sees in training and at inference: the VRS-HQ
templates around referring and reasoning sentences of synthetic scenes, for every frame count
it is given. Learning the tokenizer from it makes common words single tokens, so a small LLM
reads words rather than bytes (any other text still encodes, byte by byte).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from vrs_hq_ros.model.prompt import NUM_ANSWER_VARIANTS, build_conversation, num_question_variants
from vrs_hq_ros.model.tokenizer_builder import build_bpe_tokenizer
from vrs_hq_ros.train.synthetic_expressions import PHRASES, scene_expressions
from vrs_hq_ros.train.synthetic_scenes import make_scene

CORPUS_SCENES = 200  # scenes whose referring sentences join the corpus


def synthetic_sentences() -> list[str]:
    """Every reasoning phrase and the referring sentences of the first corpus scenes."""
    sentences = [p for phrases in PHRASES.values() for p in phrases]
    for seed in range(CORPUS_SCENES):
        scene = make_scene(seed, num_frames=2, size=64)
        sentences += [e.sentence for e in scene_expressions(scene, np.random.default_rng(seed))]
    return sorted(set(sentences))


def conversation_corpus() -> Iterator[str]:
    """Conversations (frame counts 1-12, every template variant) around each sentence."""
    for k, sentence in enumerate(synthetic_sentences()):
        yield build_conversation(1 + k % 12, sentence,
                                 question_variant=k % num_question_variants(sentence),
                                 answer_variant=k % NUM_ANSWER_VARIANTS).text


def build_synthetic_tokenizer(vocab_size: int = 1024):
    """Build the byte-level BPE tokenizer of the tiny model (deterministic)."""
    return build_bpe_tokenizer(conversation_corpus(), vocab_size)
