"""The VRS-HQ conversation (llava_v1 template) and the positions of its [SEG]/[TAK] tokens.

The question lists the T' frames as ``(0)<image>, (1)<image>, ...``; the teacher-forced answer
carries one ``[SEG]`` per frame and one ``[TAK]`` for the whole clip. After each ``<image>`` is
expanded to the backbone's visual tokens, the last-layer hidden states are read one position
*before* each [SEG]/[TAK] (the state whose next-token prediction is that token), as the official
code does with ``input_ids[:, 1:] == token_id``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

IMAGE_TOKEN = "<image>"
SEG_TOKEN = "[SEG]"
TAK_TOKEN = "[TAK]"
IGNORE_INDEX = -100
# Placeholder id of an <image> in the slow-tokenizer path (official IMAGE_TOKEN_INDEX); never
# embedded: the backbone writes visual tokens over these positions.
IMAGE_TOKEN_INDEX = -200
SPIECE_UNDERLINE = "\u2581"

SYSTEM_PROMPT = ("A chat between a curious human and an artificial intelligence assistant. "
                 "The assistant gives helpful, detailed, and polite answers to the human's "
                 "questions.")
ROLES = ("USER", "ASSISTANT")
SEP, SEP2 = " ", "</s>"

# Official templates (SitongGong/VRS-HQ dataset/utils.py: UNIFIED_SHORT_QUESTION_LIST,
# UNIFIED_LONG_QUESTION_LIST, ANSWER_LIST). Training draws one at random; inference uses index 0.
_VIDEO_PREFIX = "Reference Video: {frames} \n"
QUESTION_VARIANTS_PLAIN: tuple[str, ...] = tuple(_VIDEO_PREFIX + q for q in (
    "What is {sentence} in the Reference Video? Please respond with segmentation masks for each "
    "frame and for the entire video separately.",
    "What is {sentence} in the Reference Video? Please output segmentation masks for each frame "
    "and for the entire video separately.",
    "Please find {sentence} in the Reference Video and segment it in each frame and in the entire "
    "video respectively.",
))
QUESTION_VARIANTS_QUERY: tuple[str, ...] = tuple(_VIDEO_PREFIX + q for q in (
    "{sentence} Please find it in the Reference Video and respond with segmentation masks for "
    "each frame and for the entire video separately.",
    "{sentence} Please find it in the Reference Video and output segmentation masks in "
    "frame-level and video-level separately.",
))
ANSWER_VARIANTS: tuple[str, ...] = (
    "Sure, the segmentation result of each frame is {segs}, while for the entire video it is "
    + TAK_TOKEN + ".",
    "Sure, in the frame-level it is {segs}, and in the video-level it is " + TAK_TOKEN + ".",
    "The results for each frame is {segs}, while the segmentation result for the entire video "
    "is " + TAK_TOKEN + ".",
    "Sure, the segmentation result for individual frame is {segs}, and for the complete video, "
    "it's " + TAK_TOKEN + ".",
)
NUM_QUESTION_VARIANTS_PLAIN = len(QUESTION_VARIANTS_PLAIN)  # 3
NUM_QUESTION_VARIANTS_QUERY = len(QUESTION_VARIANTS_QUERY)  # 2
NUM_ANSWER_VARIANTS = len(ANSWER_VARIANTS)  # 4


class PromptError(ValueError):
    """The sentence or frame count cannot form a VRS-HQ prompt."""


@dataclass
class Conversation:
    """The rendered prompt: ``text`` = system + question + answer (teacher-forced)."""

    text: str
    question: str
    answer: str
    num_frames: int


@dataclass
class PromptTokens:
    """Token ids of a conversation with every ``<image>`` expanded to visual tokens.

    ``input_ids``/``labels`` are [L] (labels = ``IGNORE_INDEX`` outside the answer);
    ``seg_positions`` [T'] and ``tak_position`` index the [SEG]/[TAK] tokens themselves,
    ``seg_hidden_positions`` [T'] / ``tak_hidden_position`` the hidden states that are read.
    """

    input_ids: torch.Tensor
    labels: torch.Tensor
    seg_positions: torch.Tensor
    tak_position: int
    image_token_spans: list[tuple[int, int]]  # [start, end) per frame

    @property
    def seg_hidden_positions(self) -> torch.Tensor:
        """Positions [T'] whose last-layer states become the [SEG] embeddings."""
        return self.seg_positions - 1

    @property
    def tak_hidden_position(self) -> int:
        """Position whose last-layer state becomes the [TAK] embedding."""
        return self.tak_position - 1


def normalize_sentence(sentence: str, lowercase: bool = True,
                       collapse_whitespace: bool = True) -> str:
    """Official inference normalisation: ``" ".join(sentence.lower().split())``."""
    if lowercase:
        sentence = sentence.lower()
    if collapse_whitespace:
        sentence = " ".join(sentence.split())
    return sentence.strip()


def is_query(sentence: str) -> bool:
    """Tell whether ``sentence`` ends in "?" (it then uses the "Please find it" templates)."""
    return sentence.strip().endswith("?")


def num_question_variants(sentence: str) -> int:
    """How many question templates the official training draws from for ``sentence``."""
    return NUM_QUESTION_VARIANTS_QUERY if is_query(sentence) else NUM_QUESTION_VARIANTS_PLAIN


def build_conversation(num_frames: int, sentence: str, question_variant: int = 0,
                       answer_variant: int = 0, lowercase: bool = True,
                       collapse_whitespace: bool = True, short: bool = False) -> Conversation:
    """Render the llava_v1 conversation for ``num_frames`` frames and a referring sentence.

    Variant 0 of question and answer is the official inference text; training draws
    ``question_variant`` from ``range(num_question_variants(sentence))`` and ``answer_variant``
    from ``range(NUM_ANSWER_VARIANTS)``. A sentence ending in "?" uses the query templates.

    ``short`` renders the bare form ``USER: (0)<image>, ... {sentence} ASSISTANT: (0) [SEG],
    ... [TAK]</s>`` (no system prompt, no template words; the variants are ignored). It is a
    curriculum aid for LLMs trained from scratch, never used at inference (a deviation):
    a from-scratch LLM does not learn to carry the sentence ~40 template tokens forward to
    the [TAK] read position, but learns it in the bare form and keeps it in the full one
    (docs/TRAINING.md).
    """
    if num_frames < 1:
        raise PromptError(f"need at least one frame, got {num_frames}")
    sentence = normalize_sentence(sentence, lowercase, collapse_whitespace)
    if not sentence:
        raise PromptError("the sentence is empty")
    for token in (IMAGE_TOKEN, SEG_TOKEN, TAK_TOKEN):
        if token.lower() in sentence.lower():
            raise PromptError(f"the sentence must not contain the special token {token}")
    templates = QUESTION_VARIANTS_QUERY if is_query(sentence) else QUESTION_VARIANTS_PLAIN
    if not 0 <= question_variant < len(templates):
        raise PromptError(f"question_variant {question_variant} not in [0, {len(templates)})")
    if not 0 <= answer_variant < NUM_ANSWER_VARIANTS:
        raise PromptError(f"answer_variant {answer_variant} not in [0, {NUM_ANSWER_VARIANTS})")
    frames = ", ".join(f"({i}){IMAGE_TOKEN}" for i in range(num_frames))
    segs = ", ".join(f"({i}) {SEG_TOKEN}" for i in range(num_frames))
    if short:
        question, answer = f"{frames} {sentence}", f"{segs} {TAK_TOKEN}"
        text = f"{ROLES[0]}: {question}" + SEP + f"{ROLES[1]}: {answer}" + SEP2
        return Conversation(text=text, question=question, answer=answer, num_frames=num_frames)
    question = templates[question_variant].format(frames=frames, sentence=sentence)
    answer = ANSWER_VARIANTS[answer_variant].format(segs=segs)
    text = (SYSTEM_PROMPT + SEP + f"{ROLES[0]}: {question}" + SEP
            + f"{ROLES[1]}: {answer}" + SEP2)
    return Conversation(text=text, question=question, answer=answer, num_frames=num_frames)


def tokenize_conversation(conversation: Conversation, tokenizer, tokens_per_image: int
                          ) -> PromptTokens:
    """Tokenise ``conversation`` and expand each ``<image>`` to ``tokens_per_image`` ids.

    A tokenizer holding ``<image>`` as a token (the tiny models' byte-level one) tokenises the
    whole text at once; a sentencepiece LLaMA tokenizer without it (the official release) goes
    through ``tokenize_slow_pieces``, the official piecewise path of the slow tokenizer.
    """
    image_id = tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
    if image_id is None or image_id == tokenizer.unk_token_id:
        return _tokenize_slow(conversation, tokenizer, tokens_per_image)
    image_id, seg_id, tak_id = (tokenizer.convert_tokens_to_ids(t)
                                for t in (IMAGE_TOKEN, SEG_TOKEN, TAK_TOKEN))
    if tokenizer.unk_token_id in (image_id, seg_id, tak_id) or None in (image_id, seg_id,
                                                                         tak_id):
        raise PromptError("the tokenizer lacks <image>, [SEG] or [TAK] as tokens")
    encoded = tokenizer(conversation.text, add_special_tokens=True,
                        return_offsets_mapping=True)
    answer_start = conversation.text.index(f"{ROLES[1]}:") + len(ROLES[1]) + 1

    ids: list[int] = []
    labels: list[int] = []
    for token_id, (begin, end) in zip(encoded["input_ids"], encoded["offset_mapping"],
                                      strict=True):
        ids.append(token_id)
        # added BOS has an empty span at 0; answer tokens start after "ASSISTANT:"
        supervised = end > begin and begin >= answer_start and token_id != image_id
        labels.append(token_id if supervised else IGNORE_INDEX)
    return _expand(ids, labels, image_id, seg_id, tak_id, tokens_per_image,
                   conversation.num_frames)


def _expand(ids: list[int], labels: list[int], image_id: int, seg_id: int, tak_id: int,
            tokens_per_image: int, num_frames: int) -> PromptTokens:
    """Repeat each image id ``tokens_per_image`` times (labels ignored) and find the tokens."""
    out_ids: list[int] = []
    out_labels: list[int] = []
    spans: list[tuple[int, int]] = []
    for token_id, label in zip(ids, labels, strict=True):
        if token_id == image_id:
            spans.append((len(out_ids), len(out_ids) + tokens_per_image))
            out_ids.extend([image_id] * tokens_per_image)
            out_labels.extend([IGNORE_INDEX] * tokens_per_image)
        else:
            out_ids.append(token_id)
            out_labels.append(label)
    input_ids = torch.tensor(out_ids, dtype=torch.long)
    seg_positions = torch.nonzero(input_ids == seg_id).flatten()
    tak_positions = torch.nonzero(input_ids == tak_id).flatten()
    if len(spans) != num_frames or len(seg_positions) != num_frames or len(tak_positions) != 1:
        raise PromptError(
            f"tokenised prompt has {len(spans)} images, {len(seg_positions)} [SEG] and "
            f"{len(tak_positions)} [TAK] for {num_frames} frames")
    return PromptTokens(input_ids=input_ids, labels=torch.tensor(out_labels, dtype=torch.long),
                        seg_positions=seg_positions, tak_position=int(tak_positions[0]),
                        image_token_spans=spans)


@lru_cache(maxsize=4)
def _sentencepiece(vocab_file: str):
    import sentencepiece

    # A fresh processor: transformers may disable the dummy prefix on its own copy (legacy=False).
    return sentencepiece.SentencePieceProcessor(model_file=vocab_file)


def slow_token_ids(tokenizer, text: str) -> list[int]:
    """``tokenizer(text).input_ids`` as transformers 4.31's slow LLaMA tokenizer returns them.

    4.31 (the official pin) splits at added tokens, strips the whitespace on both sides of an
    added token that is not bos/eos/unk (``[SEG]``, ``[TAK]``), sentencepiece-encodes each
    remaining piece with its own dummy prefix (legacy mode) and prepends BOS. Newer
    transformers releases changed both rules, so the pieces are encoded here directly.
    """
    vocab_file = getattr(tokenizer, "vocab_file", None)
    if not vocab_file:
        raise PromptError("a slow sentencepiece tokenizer (with vocab_file) is required")
    legacy = _is_legacy(str(vocab_file))
    if not legacy:  # 4.31 non-legacy: one dummy prefix for the whole text
        text = SPIECE_UNDERLINE + text.replace(SPIECE_UNDERLINE, " ")
    plain = {tokenizer.bos_token, tokenizer.eos_token, tokenizer.unk_token}
    added = set(tokenizer.get_added_vocab()) | plain
    strip = added - plain
    pattern = re.compile("(" + "|".join(re.escape(t) for t in sorted(added, key=len,
                                                                      reverse=True)) + ")")
    parts = pattern.split(text)
    for i, part in enumerate(parts):
        if part in strip:
            if i > 0:
                parts[i - 1] = parts[i - 1].rstrip()
            if i + 1 < len(parts):
                parts[i + 1] = parts[i + 1].lstrip()
    processor = _sentencepiece(str(vocab_file))
    ids = [tokenizer.bos_token_id]
    for part in parts:
        if part in added:
            ids.append(tokenizer.convert_tokens_to_ids(part))
        elif part:
            ids.extend(processor.piece_to_id(p) for p in _encode_piece(processor, part, legacy))
    return ids


@lru_cache(maxsize=4)
def _is_legacy(vocab_file: str) -> bool:
    """Read ``legacy`` from the tokenizer_config.json beside the model.

    Absent means True (4.31's default); newer transformers do not keep it on the tokenizer.
    """
    config = Path(vocab_file).with_name("tokenizer_config.json")
    if not config.is_file():
        return True
    return json.loads(config.read_text()).get("legacy") is not False


def _encode_piece(processor, part: str, legacy: bool) -> list[str]:
    """4.31 ``LlamaTokenizer._tokenize`` of one piece between added tokens."""
    if legacy:
        return processor.encode(part, out_type=str)
    is_first = part.startswith(SPIECE_UNDERLINE)
    if is_first:
        part = part[1:]
    pieces = processor.encode(part, out_type=str)
    if pieces and not is_first and not part.startswith(" ") \
            and pieces[0].startswith(SPIECE_UNDERLINE):
        pieces = ([pieces[0][1:]] if len(pieces[0]) > 1 else []) + pieces[1:]
    return pieces


def tokenize_slow_pieces(tokenizer, text: str) -> list[int]:
    """Tokenise as the official ``tokenizer_image_token`` does.

    Split at ``<image>``, tokenise each piece (its BOS dropped, one BOS in front) and join the
    pieces with ``IMAGE_TOKEN_INDEX``.
    """
    ids = [tokenizer.bos_token_id]
    for i, chunk in enumerate(text.split(IMAGE_TOKEN)):
        if i > 0:
            ids.append(IMAGE_TOKEN_INDEX)
        ids.extend(slow_token_ids(tokenizer, chunk)[1:])
    return ids


def _tokenize_slow(conversation: Conversation, tokenizer, tokens_per_image: int
                   ) -> PromptTokens:
    seg_id, tak_id = (tokenizer.convert_tokens_to_ids(t) for t in (SEG_TOKEN, TAK_TOKEN))
    if tokenizer.unk_token_id in (seg_id, tak_id) or None in (seg_id, tak_id):
        raise PromptError("the tokenizer lacks [SEG] or [TAK] as tokens")
    ids = tokenize_slow_pieces(tokenizer, conversation.text)
    # Official targets: ignore BOS + the instruction (its length counted the official way,
    # "- 2" included), supervise the rest of the round and the closing </s>.
    sep = SEP + ROLES[1] + ": "
    round_text = conversation.text.split(SEP2)[0]
    instruction = round_text.split(sep)[0] + sep
    instruction_len = len(tokenize_slow_pieces(tokenizer, instruction)) - 2
    end = 1 + len(tokenize_slow_pieces(tokenizer, round_text))
    labels = [IGNORE_INDEX if i < 1 + instruction_len or i >= end else t
              for i, t in enumerate(ids)]
    return _expand(ids, labels, IMAGE_TOKEN_INDEX, seg_id, tak_id, tokens_per_image,
                   conversation.num_frames)
