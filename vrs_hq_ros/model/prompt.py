"""The VRS-HQ conversation (llava_v1 template) and the positions of its [SEG]/[TAK] tokens.

The question lists the T' frames as ``(0)<image>, (1)<image>, ...``; the teacher-forced answer
carries one ``[SEG]`` per frame and one ``[TAK]`` for the whole clip. After each ``<image>`` is
expanded to the backbone's visual tokens, the last-layer hidden states are read one position
*before* each [SEG]/[TAK] (the state whose next-token prediction is that token), as the official
code does with ``input_ids[:, 1:] == token_id``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

IMAGE_TOKEN = "<image>"
SEG_TOKEN = "[SEG]"
TAK_TOKEN = "[TAK]"
IGNORE_INDEX = -100

SYSTEM_PROMPT = ("A chat between a curious human and an artificial intelligence assistant. "
                 "The assistant gives helpful, detailed, and polite answers to the human's "
                 "questions.")
ROLES = ("USER", "ASSISTANT")
SEP, SEP2 = " ", "</s>"

_QUESTION_PLAIN = ("Reference Video: {frames} \nWhat is {sentence} in the Reference Video? "
                   "Please respond with segmentation masks for each frame and for the entire "
                   "video separately.")
_QUESTION_QUERY = ("Reference Video: {frames} \n{sentence} Please find it in the Reference Video "
                   "and respond with segmentation masks for each frame and for the entire video "
                   "separately.")
_ANSWER = ("Sure, the segmentation result of each frame is {segs}, while for the entire video "
           "it is " + TAK_TOKEN + ".")


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


def build_conversation(num_frames: int, sentence: str) -> Conversation:
    """Render the llava_v1 conversation for ``num_frames`` frames and a referring sentence.

    A sentence ending in "?" is a question and uses the "Please find it ..." variant.
    """
    if num_frames < 1:
        raise PromptError(f"need at least one frame, got {num_frames}")
    sentence = sentence.strip()
    if not sentence:
        raise PromptError("the sentence is empty")
    for token in (IMAGE_TOKEN, SEG_TOKEN, TAK_TOKEN):
        if token in sentence:
            raise PromptError(f"the sentence must not contain the special token {token}")
    frames = ", ".join(f"({i}){IMAGE_TOKEN}" for i in range(num_frames))
    template = _QUESTION_QUERY if sentence.endswith("?") else _QUESTION_PLAIN
    question = template.format(frames=frames, sentence=sentence)
    answer = _ANSWER.format(segs=", ".join(f"({i}) {SEG_TOKEN}" for i in range(num_frames)))
    text = (SYSTEM_PROMPT + SEP + f"{ROLES[0]}: {question}" + SEP
            + f"{ROLES[1]}: {answer}" + SEP2)
    return Conversation(text=text, question=question, answer=answer, num_frames=num_frames)


def tokenize_conversation(conversation: Conversation, tokenizer, tokens_per_image: int
                          ) -> PromptTokens:
    """Tokenise ``conversation`` and expand each ``<image>`` to ``tokens_per_image`` ids.

    ``tokenizer`` is a fast Hugging Face tokenizer holding ``<image>``, ``[SEG]`` and ``[TAK]``
    as special tokens. The whole text is tokenised at once (as the official code does); the
    tokens after "ASSISTANT:" form the supervised span of ``labels``.
    """
    image_id, seg_id, tak_id = (tokenizer.convert_tokens_to_ids(t)
                                for t in (IMAGE_TOKEN, SEG_TOKEN, TAK_TOKEN))
    if tokenizer.unk_token_id in (image_id, seg_id, tak_id) or None in (image_id, seg_id,
                                                                         tak_id):
        raise PromptError("the tokenizer lacks <image>, [SEG] or [TAK] as tokens")
    if not getattr(tokenizer, "is_fast", False):
        raise PromptError("a fast tokenizer (with offsets) is required")
    encoded = tokenizer(conversation.text, add_special_tokens=True,
                        return_offsets_mapping=True)
    answer_start = conversation.text.index(f"{ROLES[1]}:") + len(ROLES[1]) + 1

    ids: list[int] = []
    labels: list[int] = []
    spans: list[tuple[int, int]] = []
    for token_id, (begin, end) in zip(encoded["input_ids"], encoded["offset_mapping"],
                                      strict=True):
        if token_id == image_id:
            spans.append((len(ids), len(ids) + tokens_per_image))
            ids.extend([image_id] * tokens_per_image)
            labels.extend([IGNORE_INDEX] * tokens_per_image)
            continue
        ids.append(token_id)
        # added BOS has an empty span at 0; answer tokens start after "ASSISTANT:"
        supervised = end > begin and begin >= answer_start
        labels.append(token_id if supervised else IGNORE_INDEX)

    input_ids = torch.tensor(ids, dtype=torch.long)
    seg_positions = torch.nonzero(input_ids == seg_id).flatten()
    tak_positions = torch.nonzero(input_ids == tak_id).flatten()
    if len(spans) != conversation.num_frames or len(seg_positions) != conversation.num_frames \
            or len(tak_positions) != 1:
        raise PromptError(
            f"tokenised prompt has {len(spans)} images, {len(seg_positions)} [SEG] and "
            f"{len(tak_positions)} [TAK] for {conversation.num_frames} frames")
    return PromptTokens(input_ids=input_ids, labels=torch.tensor(labels, dtype=torch.long),
                        seg_positions=seg_positions, tak_position=int(tak_positions[0]),
                        image_token_spans=spans)
