"""Image message fields → numpy, without rclpy (plain objects carry the message fields)."""

from __future__ import annotations

import struct
import sys
import zlib
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from vrs_hq_ros.ros import image_conversion as ic

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8)


def _msg(pixels: np.ndarray, encoding: str, pad: int = 0, big_endian: bool = False):
    """An Image-like object with ``pad`` bytes of row padding."""
    height, width = pixels.shape[:2]
    if big_endian:
        pixels = pixels.astype(pixels.dtype.newbyteorder(">"))
    rows = pixels.reshape(height, -1).view(np.uint8).reshape(height, -1)
    padded = np.concatenate([rows, np.full((height, pad), 0xAB, np.uint8)], axis=1)
    return SimpleNamespace(height=height, width=width, encoding=encoding,
                           is_bigendian=int(big_endian), step=padded.shape[1],
                           data=padded.tobytes())


@pytest.mark.parametrize("pad", [0, 3])
@pytest.mark.parametrize(("encoding", "make"), [
    ("rgb8", lambda rgb: rgb),
    ("bgr8", lambda rgb: rgb[:, :, ::-1]),
    ("rgba8", lambda rgb: np.dstack([rgb, np.full(rgb.shape[:2], 9, np.uint8)])),
    ("bgra8", lambda rgb: np.dstack([rgb[:, :, ::-1], np.full(rgb.shape[:2], 9, np.uint8)])),
])
def test_colour_encodings_give_the_same_rgb_with_and_without_row_padding(encoding, make, pad):
    got = ic.image_to_rgb(_msg(np.ascontiguousarray(make(RGB)), encoding, pad))

    assert got.dtype == np.uint8 and got.shape == (5, 7, 3)
    np.testing.assert_array_equal(got, RGB)


def test_mono8_is_replicated_to_three_channels():
    mono = RGB[:, :, 0].copy()

    got = ic.image_to_rgb(_msg(mono, "mono8", pad=1))

    np.testing.assert_array_equal(got, np.dstack([mono] * 3))


def test_image_data_as_a_list_of_ints_is_accepted():
    msg = _msg(RGB, "rgb8")
    msg.data = list(msg.data)

    np.testing.assert_array_equal(ic.image_to_rgb(msg), RGB)


@pytest.mark.parametrize("big_endian", [False, True])
def test_16uc1_millimetres_become_metres_with_zero_as_nan(big_endian):
    depth_mm = np.array([[0, 1000], [1500, 65535]], np.uint16)

    got = ic.depth_to_metres(_msg(depth_mm, "16UC1", pad=2, big_endian=big_endian))

    assert got.dtype == np.float32
    assert np.isnan(got[0, 0])
    np.testing.assert_allclose(got[[0, 1, 1], [1, 0, 1]], [1.0, 1.5, 65.535], rtol=1e-6)


@pytest.mark.parametrize("big_endian", [False, True])
def test_32fc1_metres_pass_through_with_invalid_values_as_nan(big_endian):
    depth_m = np.array([[0.5, np.inf], [-1.0, 2.25]], np.float32)

    got = ic.depth_to_metres(_msg(depth_m, "32FC1", pad=4, big_endian=big_endian))

    assert got[0, 0] == 0.5 and got[1, 1] == 2.25
    assert np.isnan(got[0, 1]) and np.isnan(got[1, 0])


def test_unknown_encoding_raises_a_named_error():
    with pytest.raises(ic.UnsupportedEncodingError, match="yuv422"):
        ic.image_to_rgb(_msg(RGB, "yuv422"))


def test_depth_encoding_on_the_colour_path_is_unsupported():
    with pytest.raises(ic.UnsupportedEncodingError):
        ic.image_to_rgb(_msg(np.zeros((2, 2), np.uint16), "16UC1"))


def test_step_smaller_than_a_row_raises_a_layout_error():
    msg = _msg(RGB, "rgb8")
    msg.step = 7 * 3 - 1

    with pytest.raises(ic.ImageLayoutError, match="step"):
        ic.image_to_rgb(msg)


def test_data_shorter_than_step_times_height_raises_a_layout_error():
    msg = _msg(RGB, "rgb8")
    msg.data = msg.data[:-1]

    with pytest.raises(ic.ImageLayoutError, match="bytes"):
        ic.image_to_rgb(msg)


def test_zero_size_raises_an_empty_image_error():
    msg = SimpleNamespace(height=0, width=7, encoding="rgb8", is_bigendian=0, step=21, data=b"")

    with pytest.raises(ic.EmptyImageError):
        ic.image_to_rgb(msg)


def test_errors_carry_distinct_causes_for_counting():
    errors = (ic.UnsupportedEncodingError, ic.ImageLayoutError, ic.EmptyImageError,
              ic.ImageTooLargeError)

    assert len({e.cause for e in errors}) == 4
    assert all(issubclass(e, ic.ImageConversionError) for e in errors)


def test_stream_size_reports_a_change_and_takes_the_new_size():
    size, changed = ic.stream_size(None, RGB)
    same, changed_again = ic.stream_size(size, RGB.copy())
    narrower, narrowed = ic.stream_size(size, RGB[:, :6])

    assert (size, changed, same, changed_again) == ((5, 7), False, (5, 7), False)
    assert (narrower, narrowed) == ((5, 6), True)


def png_bomb(width: int, height: int) -> bytes:
    """A valid all-black RGB PNG: a small file that decodes to ``width`` x ``height``."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    packer, row = zlib.compressobj(9), b"\0" * (1 + 3 * width)  # filter byte + pixels
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))


def test_a_compressed_bomb_is_refused_from_its_header_before_decoding():
    bomb = png_bomb(3000, 3000)
    assert len(bomb) < 100_000  # 27 MB of pixels in a small file

    assert ic.compressed_size(bomb) == (3000, 3000)
    with pytest.raises(ic.ImageTooLargeError, match="3000x3000 = 9000000 px"):
        ic.compressed_to_rgb(SimpleNamespace(format="png", data=bomb), max_pixels=1_000_000)
    assert ic.compressed_to_rgb(SimpleNamespace(format="png", data=bomb)).shape == (3000, 3000, 3)


def test_jpeg_size_comes_from_the_header_and_raw_images_obey_the_limit_too():
    ok, jpeg = cv2.imencode(".jpg", np.zeros((40, 60, 3), np.uint8))
    assert ok

    assert ic.compressed_size(jpeg.tobytes()) == (60, 40)
    assert ic.compressed_to_rgb(SimpleNamespace(format="jpeg", data=jpeg.tobytes()),
                                max_pixels=2400).shape == (40, 60, 3)
    with pytest.raises(ic.ImageTooLargeError, match="input.max_pixels = 34"):
        ic.image_to_rgb(_msg(RGB, "rgb8"), max_pixels=34)
    assert ic.image_to_rgb(_msg(RGB, "rgb8"), max_pixels=35).shape == (5, 7, 3)


def test_compressed_png_decodes_to_rgb():
    ok, png = cv2.imencode(".png", cv2.cvtColor(RGB, cv2.COLOR_RGB2BGR))
    assert ok

    got = ic.compressed_to_rgb(SimpleNamespace(format="png", data=png.tobytes()))

    np.testing.assert_array_equal(got, RGB)


def test_undecodable_compressed_data_raises_a_named_error():
    with pytest.raises(ic.UnsupportedEncodingError, match="cannot decode"):
        ic.compressed_to_rgb(SimpleNamespace(format="jpeg", data=b"not a jpeg"))
    with pytest.raises(ic.UnsupportedEncodingError, match="header"):
        ic.compressed_to_rgb(SimpleNamespace(format="jpeg", data=b"not a jpeg"), max_pixels=10)


def test_rgb_and_mono8_fields_round_trip_through_the_reader():
    fields = ic.rgb_to_fields(RGB)
    mono = ic.mono8_to_fields(RGB[:, :, 1].copy())

    np.testing.assert_array_equal(ic.image_to_rgb(fields), RGB)
    np.testing.assert_array_equal(ic.image_to_rgb(mono)[:, :, 0], RGB[:, :, 1])


def test_numpy_path_is_used_where_cv_bridge_is_absent():
    if "cv_bridge" in sys.modules or _importable("cv_bridge"):
        pytest.skip("cv_bridge is installed here; the cv_bridge test below covers it")

    assert ic._cv_bridge() is None


def test_cv_bridge_and_numpy_agree_where_cv_bridge_is_installed():
    pytest.importorskip("cv_bridge", reason="the ROS 2 cv_bridge is not installed here")
    sensor_msgs = pytest.importorskip("sensor_msgs.msg")
    fields = _msg(np.ascontiguousarray(RGB[:, :, ::-1]), "bgr8", pad=3)
    msg = sensor_msgs.Image(height=fields.height, width=fields.width, encoding="bgr8",
                            is_bigendian=0, step=fields.step, data=fields.data)

    np.testing.assert_array_equal(ic.image_to_rgb(msg), RGB)


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None
