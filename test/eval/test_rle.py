"""COCO RLE encode/decode round-trips and rejects what is not an RLE."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vrs_hq_ros.eval.errors import DatasetFormatError, MaskShapeError
from vrs_hq_ros.eval.rle import decode_mask, decode_or_empty, encode_mask


def test_round_trip_through_json_is_lossless():
    rng = np.random.default_rng(1)
    mask = rng.random((37, 53)) > 0.5

    rle = json.loads(json.dumps(encode_mask(mask)))

    assert rle["size"] == [37, 53]
    assert isinstance(rle["counts"], str)
    assert np.array_equal(decode_mask(rle), mask)


def test_uncompressed_counts_decode():
    # Column-major runs: 2 background, 3 foreground, 1 background on a 2x3 image.
    mask = decode_mask({"size": [2, 3], "counts": [2, 3, 1]})

    assert mask.tolist() == [[False, True, True], [False, True, False]]


def test_null_annotation_is_an_empty_mask():
    assert not decode_or_empty(None, 4, 5).any()
    assert decode_or_empty(None, 4, 5).shape == (4, 5)


def test_rle_of_the_wrong_size_is_rejected():
    with pytest.raises(MaskShapeError, match="4x5"):
        decode_or_empty(encode_mask(np.ones((3, 3), bool)), 4, 5)


def test_malformed_rle_raises_a_dataset_error():
    with pytest.raises(DatasetFormatError, match="not a COCO RLE"):
        decode_mask({"counts": "abc"})


def test_encode_rejects_a_stack():
    with pytest.raises(MaskShapeError):
        encode_mask(np.zeros((2, 3, 3), bool))
