import pytest
import torch

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


# --- official variants and the slow (release) tokenizer path ---------------------------------

def test_variant_counts_and_variant_zero_is_the_inference_text():
    from vrs_hq_ros.model import prompt

    assert (prompt.NUM_QUESTION_VARIANTS_PLAIN, prompt.NUM_QUESTION_VARIANTS_QUERY,
            prompt.NUM_ANSWER_VARIANTS) == (3, 2, 4)
    assert prompt.num_question_variants("where is it?") == 2
    default = build_conversation(2, SENTENCES["plain"])
    assert build_conversation(2, SENTENCES["plain"], 0, 0).text == default.text
    third = build_conversation(2, SENTENCES["plain"], question_variant=2, answer_variant=3)
    assert "Please find the dog running on the left in the Reference Video and segment it" \
        in third.question
    assert third.answer == ("Sure, the segmentation result for individual frame is (0) [SEG], "
                            "(1) [SEG], and for the complete video, it's [TAK].")
    with pytest.raises(PromptError):
        build_conversation(2, SENTENCES["question"], question_variant=2)
    with pytest.raises(PromptError):
        build_conversation(2, SENTENCES["plain"], answer_variant=4)


def test_sentence_is_lowercased_and_whitespace_collapsed_by_default():
    conv = build_conversation(1, "  The DOG\n running   left ")
    assert "What is the dog running left in the" in conv.question
    kept = build_conversation(1, "The DOG", lowercase=False)
    assert "What is The DOG in the" in kept.question


@pytest.fixture(scope="module")
def slow_tokenizer(tmp_path_factory):
    import importlib.util
    from pathlib import Path

    from transformers import AutoTokenizer

    spec = importlib.util.spec_from_file_location(
        "release_fixture", Path(__file__).with_name("release_fixture.py"))
    fixture = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixture)
    folder = tmp_path_factory.mktemp("tok")
    fixture._write_tokenizer(folder)
    return AutoTokenizer.from_pretrained(folder, use_fast=False, local_files_only=True)


def test_slow_pieces_strip_around_added_tokens_like_transformers_4_31(slow_tokenizer):
    import sentencepiece

    from vrs_hq_ros.model.prompt import slow_token_ids

    sp = sentencepiece.SentencePieceProcessor(model_file=slow_tokenizer.vocab_file)
    seg = slow_tokenizer.convert_tokens_to_ids(SEG_TOKEN)
    # each piece between added tokens is encoded on its own (own dummy prefix), whitespace
    # next to [SEG] stripped; </s> keeps its neighbours
    expected = ([slow_tokenizer.bos_token_id] + sp.encode("is (0)") + [seg] + sp.encode(", (1)")
                + [seg] + sp.encode(", while.") + [slow_tokenizer.eos_token_id])
    assert slow_token_ids(slow_tokenizer, "is (0) [SEG], (1) [SEG], while.</s>") == expected


@pytest.mark.parametrize("num_frames", [1, 4, 11])
def test_slow_sequence_matches_the_official_layout(slow_tokenizer, num_frames):
    from vrs_hq_ros.model.prompt import IMAGE_TOKEN_INDEX, tokenize_slow_pieces

    conv = build_conversation(num_frames, "The dog on the LEFT")
    tokens = tokenize_conversation(conv, slow_tokenizer, 112)
    official = torch.tensor(tokenize_slow_pieces(slow_tokenizer, conv.text))
    seg_id, tak_id = slow_tokenizer.convert_tokens_to_ids([SEG_TOKEN, TAK_TOKEN])
    # official: one -200 per frame, then 111 extra positions per image shift every later token
    assert int((official == IMAGE_TOKEN_INDEX).sum()) == num_frames
    assert len(tokens.input_ids) == len(official) + 111 * num_frames
    assert [e - s for s, e in tokens.image_token_spans] == [112] * num_frames
    # read positions: official mask input_ids[:, 1:] == id, shifted right by 111 * N
    token_add = 111 * num_frames
    official_seg_reads = (official[1:] == seg_id).nonzero().flatten() + token_add
    official_tak_read = int((official[1:] == tak_id).nonzero()) + token_add
    assert tokens.seg_hidden_positions.tolist() == official_seg_reads.tolist()
    assert tokens.tak_hidden_position == official_tak_read
    # text ids between the images equal the official ones
    text = tokens.input_ids[tokens.input_ids != IMAGE_TOKEN_INDEX]
    assert text.tolist() == official[official != IMAGE_TOKEN_INDEX].tolist()
    # supervision starts inside "ASSISTANT: ..." and covers the closing </s>
    supervised = tokens.labels != IGNORE_INDEX
    assert supervised[tokens.seg_positions].all() and supervised[tokens.tak_position]
    assert int(tokens.labels[-1]) == slow_tokenizer.eos_token_id
    assert not supervised[: tokens.image_token_spans[-1][1]].any()


@pytest.mark.parametrize("mode", ["legacy", "non_legacy"])
def test_slow_ids_equal_transformers_4_31_in_both_modes(slow_tokenizer, tmp_path, mode):
    """Ids recorded from the official ``tokenizer_image_token`` on transformers 4.31
    (fixtures/record_official_token_ids.py)."""
    import hashlib
    import json
    import shutil
    from pathlib import Path

    from transformers import AutoTokenizer

    from vrs_hq_ros.model.prompt import tokenize_slow_pieces

    record = json.loads((Path(__file__).parent / "fixtures" /
                         "official_token_ids.json").read_text())
    folder = Path(slow_tokenizer.vocab_file).parent
    assert hashlib.sha256((folder / "tokenizer.model").read_bytes()).hexdigest() == \
        record["tokenizer_sha256"], "the test tokenizer changed: re-record the fixture"
    if mode == "non_legacy":
        copy = shutil.copytree(folder, tmp_path / "tok")
        config = json.loads((copy / "tokenizer_config.json").read_text())
        (copy / "tokenizer_config.json").write_text(json.dumps({**config, "legacy": False}))
        tokenizer = AutoTokenizer.from_pretrained(copy, use_fast=False, local_files_only=True)
    else:
        tokenizer = slow_tokenizer
    assert [tokenize_slow_pieces(tokenizer, t) for t in record["texts"]] == record[mode]


def test_the_short_curriculum_form_keeps_frames_sentence_and_tokens_only(tokenizer):
    conv = build_conversation(3, "Which object is the LARGEST?", question_variant=1,
                              answer_variant=2, short=True)
    assert conv.text == ("USER: (0)<image>, (1)<image>, (2)<image> which object is the "
                         "largest? ASSISTANT: (0) [SEG], (1) [SEG], (2) [SEG] [TAK]</s>")
    tokens = tokenize_conversation(conv, tokenizer, TOKENS_PER_IMAGE)
    full = tokenize_conversation(build_conversation(3, "which object is the largest?"),
                                 tokenizer, TOKENS_PER_IMAGE)
    assert len(tokens.seg_positions) == 3 and len(tokens.image_token_spans) == 3
    assert len(tokens.input_ids) < len(full.input_ids) - 40  # the template is what it drops
