"""sensor_msgs/Image (and CompressedImage) fields ⇄ numpy arrays, without rclpy.

Colour inputs (rgb8, bgr8, rgba8, bgra8, mono8) become RGB uint8 ``[H, W, 3]``; depth inputs
become metres as float32 ``[H, W]`` (16UC1 millimetres or 32FC1 metres; 0 / non-finite =
no reading → NaN). ``step`` (row padding) and ``is_bigendian`` are honoured. The functions
take any object with the message's field names, so they run on real messages, on rosbags
messages and in tests alike. The ROS 2 ``cv_bridge`` is used where it is installed (after the
same validation, so errors are identical either way); a numpy path does the work elsewhere.
"""

from __future__ import annotations

import functools
import io
import logging
import warnings
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)


class ImageConversionError(ValueError):
    """An image message cannot be converted; ``cause`` is a short key for log-once/counters."""

    cause = "image"


class UnsupportedEncodingError(ImageConversionError):
    """The encoding is not one this node reads."""

    cause = "encoding"


class ImageLayoutError(ImageConversionError):
    """``step`` or the data length does not fit height × width × pixel size."""

    cause = "layout"


class EmptyImageError(ImageConversionError):
    """Height or width is zero."""

    cause = "empty"


class ImageTooLargeError(ImageConversionError):
    """The image has more pixels than ``input.max_pixels`` (checked before decoding)."""

    cause = "too_large"


def check_pixels(width: int, height: int, max_pixels: int | None, what: str = "image") -> None:
    """Raise ``ImageTooLargeError`` if ``width`` × ``height`` exceeds ``max_pixels``."""
    if max_pixels is not None and width * height > max_pixels:
        raise ImageTooLargeError(
            f"{what} is {width}x{height} = {width * height} px, more than input.max_pixels "
            f"= {max_pixels}")


@dataclass(frozen=True)
class _Encoding:
    """Pixel layout of one ROS image encoding."""

    dtype: str  # numpy dtype name, little-endian form
    channels: int
    to_rgb: tuple[int, ...] | None  # channel order giving RGB; None for mono / depth


_COLOUR = {
    "rgb8": _Encoding("u1", 3, (0, 1, 2)),
    "bgr8": _Encoding("u1", 3, (2, 1, 0)),
    "rgba8": _Encoding("u1", 4, (0, 1, 2)),
    "bgra8": _Encoding("u1", 4, (2, 1, 0)),
    "mono8": _Encoding("u1", 1, None),
}
_DEPTH = {
    "16UC1": _Encoding("u2", 1, None),
    "mono16": _Encoding("u2", 1, None),  # some drivers label millimetre depth this way
    "32FC1": _Encoding("f4", 1, None),
}
COLOUR_ENCODINGS = tuple(_COLOUR)
DEPTH_ENCODINGS = tuple(_DEPTH)


@functools.cache
def _cv_bridge():
    """Return the ROS 2 ``cv_bridge.CvBridge``, or None where it is not installed."""
    try:
        from cv_bridge import CvBridge
    except ImportError:
        logger.debug("cv_bridge not installed; using the numpy image conversion")
        return None
    return CvBridge()


def _pixels(msg, table: dict[str, _Encoding],
            max_pixels: int | None = None) -> tuple[np.ndarray, _Encoding]:
    """Validate ``msg``'s layout and view its data as ``[H, W, C]`` (row padding dropped)."""
    encoding = table.get(msg.encoding)
    if encoding is None:
        raise UnsupportedEncodingError(
            f"unsupported image encoding {msg.encoding!r}; expected one of {sorted(table)}")
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height == 0 or width == 0:
        raise EmptyImageError(f"image has zero size ({width}x{height})")
    check_pixels(width, height, max_pixels)
    dtype = np.dtype(encoding.dtype).newbyteorder(">" if msg.is_bigendian else "<")
    row_bytes = width * encoding.channels * dtype.itemsize
    if step < row_bytes:
        raise ImageLayoutError(f"step {step} is smaller than one {msg.encoding} row of "
                               f"{width} px ({row_bytes} bytes)")
    data = msg.data
    size = len(data)
    if size != step * height:
        raise ImageLayoutError(f"data has {size} bytes, expected step {step} x height "
                               f"{height} = {step * height}")
    buffer = np.frombuffer(bytes(data) if isinstance(data, list) else data, np.uint8)
    rows = buffer.reshape(height, step)[:, :row_bytes]
    pixels = np.ascontiguousarray(rows).view(dtype).reshape(height, width, encoding.channels)
    return pixels, encoding


def image_to_rgb(msg, max_pixels: int | None = None) -> np.ndarray:
    """Convert a colour or mono ``sensor_msgs/Image`` to RGB uint8 ``[H, W, 3]`` (a new array)."""
    pixels, encoding = _pixels(msg, _COLOUR, max_pixels)
    bridge = _cv_bridge()
    if bridge is not None:
        return np.ascontiguousarray(bridge.imgmsg_to_cv2(msg, desired_encoding="rgb8"))
    if encoding.to_rgb is None:
        return np.repeat(pixels, 3, axis=2)
    return np.ascontiguousarray(pixels[:, :, list(encoding.to_rgb)])


def depth_to_metres(msg) -> np.ndarray:
    """Convert a 16UC1 (mm) or 32FC1 (m) depth image to float32 metres ``[H, W]`` (NaN: none)."""
    pixels, encoding = _pixels(msg, _DEPTH)
    depth = pixels[:, :, 0].astype(np.float32)
    if encoding.dtype == "u2":
        depth *= 1e-3
    depth[~np.isfinite(depth) | (depth <= 0)] = np.nan
    return depth


def compressed_size(data: bytes) -> tuple[int, int]:
    """Width and height from a compressed image's header, without decoding its pixels.

    PIL's ``Image.open`` is lazy: it parses the header only. Its own decompression-bomb
    guard is silenced here because ``input.max_pixels`` is the limit that applies.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                return image.size
    except Image.DecompressionBombError as exc:  # > 2x PIL's limit: too large for any setting
        raise ImageTooLargeError(f"compressed image header: {exc}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnsupportedEncodingError(f"cannot read the compressed image header: {exc}") from None


def compressed_to_rgb(msg, max_pixels: int | None = None) -> np.ndarray:
    """Decode a ``sensor_msgs/CompressedImage`` (jpeg / png) to RGB uint8 ``[H, W, 3]``.

    With ``max_pixels`` the size is read from the header first, so a small file that would
    decode to a huge image (a decompression bomb) is refused before any pixel is allocated.
    """
    import cv2

    raw = bytes(msg.data)
    if not raw:
        raise EmptyImageError("compressed image has no data")
    if max_pixels is not None:
        width, height = compressed_size(raw)
        check_pixels(width, height, max_pixels, f"compressed image ({msg.format!r})")
    data = np.frombuffer(raw, np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:
        raise UnsupportedEncodingError(
            f"cannot decode compressed image (format {msg.format!r}, {data.size} bytes)")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@dataclass
class ImageFields:
    """The data fields of a ``sensor_msgs/Image`` (header excluded)."""

    height: int
    width: int
    encoding: str
    is_bigendian: int
    step: int
    data: bytes


def rgb_to_fields(rgb: np.ndarray) -> ImageFields:
    """RGB uint8 ``[H, W, 3]`` as rgb8 image fields."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected uint8 [H, W, 3], got {rgb.dtype} {rgb.shape}")
    height, width = rgb.shape[:2]
    return ImageFields(height, width, "rgb8", 0, width * 3, np.ascontiguousarray(rgb).tobytes())


def mono8_to_fields(mono: np.ndarray) -> ImageFields:
    """uint8 ``[H, W]`` as mono8 image fields."""
    if mono.ndim != 2 or mono.dtype != np.uint8:
        raise ValueError(f"expected uint8 [H, W], got {mono.dtype} {mono.shape}")
    height, width = mono.shape
    return ImageFields(height, width, "mono8", 0, width, np.ascontiguousarray(mono).tobytes())


def stream_size(previous_hw: tuple[int, int] | None,
                rgb: np.ndarray) -> tuple[tuple[int, int], bool]:
    """Return ``rgb``'s (height, width) and whether it differs from ``previous_hw``.

    Tracks and masks live at the source resolution: a change restarts the tracks (the engine
    does that) and the stream goes on at the new size.
    """
    size_hw = (int(rgb.shape[0]), int(rgb.shape[1]))
    return size_hw, previous_hw is not None and size_hw != previous_hw
