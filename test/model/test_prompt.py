import pytest

from vrs_hq_ros.model.prompt import (
    IGNORE_INDEX,
    IMAGE_TOKEN,
    SEG_TOKEN,
    TAK_TOKEN,
    PromptError,
    build_conversation,
    tokenize_conversation,
)
from vrs_hq_ros.model.tokenizer_builder import build_byte_tokenizer

TOKENS_PER_IMAGE = 5
SENTENCES = {
    "plain": "the dog running on the left",
    "question": "which animal is chasing the ball?",
}


@pytest.fixture(scope="module")
def tokenizer():
    return build_byte_tokenizer()


def test_plain_sentence_uses_the_what_is_variant():
    conv = build_conversation(2, SENTENCES["plain"])
    assert conv.question == (
        "Reference Video: (0)<image>, (1)<image> \nWhat is the dog running on the left in the "
        "Reference Video? Please respond with segmentation masks for each frame and for the "
        "entire video separately.")
    assert conv.answer == ("Sure, the segmentation result of each frame is (0) [SEG], (1) [SEG], "
                           "while for the entire video it is [TAK].")
    assert conv.text.startswith("A chat between a curious human and an artificial intelligence")
    assert f"USER: {conv.question} ASSISTANT: {conv.answer}</s>" in conv.text


def test_question_sentence_uses_the_find_it_variant():
    conv = build_conversation(1, SENTENCES["question"])
    assert conv.question == (
        "Reference Video: (0)<image> \nwhich animal is chasing the ball? Please find it in the "
        "Reference Video and respond with segmentation masks for each frame and for the entire "
        "video separately.")


@pytest.mark.parametrize("variant", sorted(SENTENCES))
@pytest.mark.parametrize("num_frames", range(1, 13))
def test_token_positions_after_image_expansion(tokenizer, num_frames, variant):
    conv = build_conversation(num_frames, SENTENCES[variant])
    tokens = tokenize_conversation(conv, tokenizer, TOKENS_PER_IMAGE)
    ids = tokens.input_ids
    seg_id, tak_id, image_id = tokenizer.convert_tokens_to_ids([SEG_TOKEN, TAK_TOKEN,
                                                                IMAGE_TOKEN])

    # every <image> became TOKENS_PER_IMAGE placeholders, in frame order, before the answer
    unexpanded = len(tokenizer(conv.text)["input_ids"])
    assert len(ids) == unexpanded + num_frames * (TOKENS_PER_IMAGE - 1)
    assert int((ids == image_id).sum()) == num_frames * TOKENS_PER_IMAGE
    for start, end in tokens.image_token_spans:
        assert end - start == TOKENS_PER_IMAGE and bool((ids[start:end] == image_id).all())

    # one [SEG] per frame, labelled "(i) [SEG]", then the single [TAK] last
    assert tokens.seg_positions.tolist() == (ids == seg_id).nonzero().flatten().tolist()
    assert len(tokens.seg_positions) == num_frames
    for i, pos in enumerate(tokens.seg_positions.tolist()):
        assert tokenizer.decode(ids[:pos + 1]).endswith(f"({i}) [SEG]")
    assert int(ids[tokens.tak_position]) == tak_id
    assert tokens.tak_position > int(tokens.seg_positions[-1])
    assert tokens.image_token_spans[-1][1] < int(tokens.seg_positions[0])

    # hidden states are read one step earlier (the state that predicts the token)
    assert (tokens.seg_hidden_positions == tokens.seg_positions - 1).all()
    assert tokens.tak_hidden_position == tokens.tak_position - 1


def test_only_the_answer_is_supervised(tokenizer):
    conv = build_conversation(3, SENTENCES["plain"])
    tokens = tokenize_conversation(conv, tokenizer, TOKENS_PER_IMAGE)
    supervised = tokens.labels != IGNORE_INDEX
    assert tokenizer.decode(tokens.input_ids[supervised]) == f" {conv.answer}</s>"
    assert (tokens.labels[supervised] == tokens.input_ids[supervised]).all()


@pytest.mark.parametrize("num_frames,sentence", [(0, "a cat"), (2, "   "), (2, "a [SEG] cat")])
def test_bad_prompts_raise(num_frames, sentence):
    with pytest.raises(PromptError):
        build_conversation(num_frames, sentence)
