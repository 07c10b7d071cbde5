import numpy as np

from vrs_hq_ros.engine.frame_buffer import BufferedFrame, FrameRingBuffer
from vrs_hq_ros.engine.frames import Frame
from vrs_hq_ros.engine.windows import sample_window_frames

RGB = np.zeros((4, 4, 3), np.uint8)


def _item(index: int, stamp_ns: int) -> BufferedFrame:
    return BufferedFrame(index=index, frame=Frame(stamp_ns, RGB), features=None)


def test_buffer_keeps_the_newest_frames_up_to_capacity():
    buffer = FrameRingBuffer(capacity=5, max_age_ns=10**18)
    for i in range(12):
        buffer.append(_item(i, i))
    assert [f.index for f in buffer.latest(10)] == [7, 8, 9, 10, 11]
    assert buffer.get(6) is None and buffer.get(9).index == 9
    assert [f.index for f in buffer.after(9)] == [10, 11]


def test_buffer_drops_frames_older_than_max_age():
    buffer = FrameRingBuffer(capacity=100, max_age_ns=1_000)
    for i, stamp in enumerate([0, 400, 800, 1_200, 2_500]):
        buffer.append(_item(i, stamp))
    assert [f.stamp_ns for f in buffer.latest(10)] == [2_500]
    buffer.append(_item(5, 3_000))
    assert [f.stamp_ns for f in buffer.latest(10)] == [2_500, 3_000]


def test_window_samples_t_prime_frames_ending_at_the_newest():
    items = [_item(i, i) for i in range(40)]
    frames = sample_window_frames(items, window_length=16, frames_per_window=6)
    indices = [f.index for f in frames]
    assert len(indices) == 6 and indices[0] == 24 and indices[-1] == 39
    assert indices == sorted(set(indices))


def test_short_buffer_gives_every_frame():
    items = [_item(i, i) for i in range(3)]
    assert [f.index for f in sample_window_frames(items, 16, 8)] == [0, 1, 2]
