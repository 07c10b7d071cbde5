"""Tokenizers for the reasoning backbone, built locally (never fetched from a hub)."""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

from vrs_hq_ros.model.prompt import IMAGE_TOKEN, SEG_TOKEN, TAK_TOKEN

BOS, EOS, UNK = "<s>", "</s>", "<unk>"


def build_byte_tokenizer() -> PreTrainedTokenizerFast:
    """Byte-level tokenizer with no merges: any text encodes, one token per UTF-8 byte.

    Ids: ``<unk>`` 0, ``<s>`` 1, ``</s>`` 2, then the 256 byte symbols; ``<image>``, ``[SEG]``
    and ``[TAK]`` are added as special tokens (never split). Padding uses ``<unk>`` as the
    official code does.
    """
    byte_symbols = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {UNK: 0, BOS: 1, EOS: 2}
    vocab.update({symbol: i + 3 for i, symbol in enumerate(byte_symbols)})
    core = _byte_level(Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=UNK)))
    return _wrap(core)


def build_bpe_tokenizer(corpus: Iterable[str], vocab_size: int = 1024
                        ) -> PreTrainedTokenizerFast:
    """Byte-level BPE learnt from ``corpus``: any text encodes, frequent words are one token.

    Same ids for ``<unk>``/``<s>``/``</s>`` (0/1/2), BOS template and special tokens as
    ``build_byte_tokenizer``; a small model reads whole words instead of bytes (shorter
    sequences, faster learning). Training is deterministic for a given corpus.
    """
    core = _byte_level(Tokenizer(models.BPE(unk_token=UNK)))
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[UNK, BOS, EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    core.train_from_iterator(corpus, trainer=trainer)
    return _wrap(core)


def _byte_level(core: Tokenizer) -> Tokenizer:
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    return core


def _wrap(core: Tokenizer) -> PreTrainedTokenizerFast:
    """BOS template, the transformers wrapper (pad = unk, as official) and the VRS tokens."""
    core.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, 1)])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, bos_token=BOS, eos_token=EOS,
                                        unk_token=UNK, pad_token=UNK)
    add_vrs_tokens(tokenizer)
    return tokenizer


def add_vrs_tokens(tokenizer) -> int:
    """Add ``<image>``, ``[SEG]`` and ``[TAK]`` as special tokens; return how many were new.

    The caller resizes the language model's embeddings when the count is positive.
    """
    vocab = tokenizer.get_vocab()
    missing = [t for t in (IMAGE_TOKEN, SEG_TOKEN, TAK_TOKEN) if t not in vocab]
    if not missing:
        return 0
    return tokenizer.add_tokens(missing, special_tokens=True)
