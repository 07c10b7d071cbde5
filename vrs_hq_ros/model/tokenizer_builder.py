"""Tokenizers for the reasoning backbone, built locally (never fetched from a hub)."""

from __future__ import annotations

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
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
    core = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=UNK))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
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
