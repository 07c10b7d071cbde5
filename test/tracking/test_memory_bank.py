import torch

from vrs_hq_ros.tracking.memory_bank import MemoryEntry, MemoryLimits, ObjectMemory
from vrs_hq_ros.tracking.online_tracker import OnlineTracker, TrackerConfig

from .conftest import square_mask


def _entry(index: int) -> MemoryEntry:
    return MemoryEntry(frame_index=index, obj_ptr=torch.zeros(1, 4), object_score_logit=1.0,
                       maskmem_features=torch.zeros(1, 2, 2, 2),
                       maskmem_pos_enc=torch.zeros(1, 2, 2, 2))


def test_bank_keeps_only_what_sam2_reads():
    memory = ObjectMemory(MemoryLimits(spatial_frames=6, pointer_frames=15, max_older_keyframes=1))
    memory.add_keyframe(_entry(0))
    for index in range(1, 100):
        memory.add_frame(_entry(index))
    assert memory.num_entries() == (1, 6, 15)
    view = memory.as_sam2_output_dict()
    non_cond = view["non_cond_frame_outputs"]
    assert sorted(non_cond) == list(range(85, 100))  # the last 15 frames
    with_spatial = sorted(i for i, out in non_cond.items() if "maskmem_features" in out)
    assert with_spatial == list(range(94, 100))  # the last 6 frames
    assert list(view["cond_frame_outputs"]) == [0]


def test_keyframe_policy_keeps_newest_and_k_older():
    memory = ObjectMemory(MemoryLimits(spatial_frames=6, pointer_frames=15, max_older_keyframes=2))
    for index in (40, 10, 30, 20):
        memory.add_keyframe(_entry(index))
    assert list(memory.keyframes) == [20, 30, 40]
    assert memory.newest_keyframe_index == 40


def test_bank_size_stops_growing_after_num_maskmem_frames(sam2, frame_features):
    tracker = OnlineTracker(sam2, TrackerConfig(max_older_keyframes=1))
    memory = tracker.new_memory()
    tracker.condition(memory, 0, square_mask(), frame_features[0])
    spatial = []
    tensors = []
    for index in range(1, 40):
        tracker.step(memory, index, frame_features[index % len(frame_features)])
        spatial.append(memory.num_entries()[1])
        tensors.append(len(memory.tensors()))
    num_maskmem = sam2.num_maskmem
    assert spatial[:num_maskmem - 1] == list(range(1, num_maskmem))
    assert set(spatial[num_maskmem - 1:]) == {num_maskmem - 1}
    # pointers keep growing until SAM2's pointer limit, then nothing grows
    settled = sam2.max_obj_ptrs_in_encoder - 1
    assert len(set(tensors[settled:])) == 1
    assert tensors[settled] > tensors[num_maskmem - 1]
