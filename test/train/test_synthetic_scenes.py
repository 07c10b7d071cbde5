import numpy as np
import pytest

from vrs_hq_ros.train.synthetic_expressions import REASONING, REFERRING, scene_expressions
from vrs_hq_ros.train.synthetic_scenes import SceneError, make_scene


def test_the_same_seed_gives_the_same_scene_and_another_seed_another():
    a, b, c = make_scene(3, 8, 64), make_scene(3, 8, 64), make_scene(4, 8, 64)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.frames, c.frames)


def test_no_two_objects_of_a_scene_share_a_look():
    for seed in range(40):
        looks = [o.look for o in make_scene(seed, 4, 64).objects]
        assert len(set(looks)) == len(looks)


def test_labels_are_the_visible_pixels_drawn_in_the_object_colour():
    scene = make_scene(11, 6, 96, num_objects=3, motions=("moving",) * 3, occluder=False)
    for k, obj in enumerate(scene.objects):
        visible = scene.mask(k)
        if obj.texture == "plain" and visible.any():
            colours = scene.frames[visible]
            assert (np.abs(colours.astype(int) - colours[0]).max(axis=1) <= 0).mean() > 0.99


def test_a_still_object_stays_and_a_stopping_object_stops():
    scene = make_scene(5, 30, 96, num_objects=2, motions=("still", "stops"))
    still, stops = scene.objects
    assert np.allclose(still.centres_xy, still.centres_xy[0])
    after = stops.centres_xy[stops.stop_frame:]
    assert np.allclose(after, after[0]) and not np.allclose(stops.centres_xy[0], after[0])


def test_the_occluder_hides_what_is_behind_it():
    scene = make_scene(9, 6, 96, occluder=True)
    x0, y0, x1, y1 = scene.occluder.box_xyxy
    assert not scene.labels[:, y0:y1, x0:x1].any()


def test_bad_scene_parameters_are_refused():
    with pytest.raises(SceneError):
        make_scene(0, num_frames=1)
    with pytest.raises(SceneError):
        make_scene(0, num_objects=5)


def test_expressions_have_one_target_and_both_kinds_occur():
    kinds, rules = set(), set()
    for seed in range(60):
        scene = make_scene(seed, 24, 96)
        for e in scene_expressions(scene, np.random.default_rng(seed)):
            assert 0 <= e.target < len(scene.objects)
            assert e.sentence == e.sentence.lower()
            kinds.add(e.type_id)
            rules.add(e.rule)
    assert kinds == {REFERRING, REASONING}
    assert {"stops", "fastest", "left_at_start", "still"} <= rules


def test_a_referring_sentence_names_only_its_target():
    for seed in range(40):
        scene = make_scene(seed, 4, 64)
        for e in scene_expressions(scene, np.random.default_rng(seed)):
            if e.type_id != REFERRING:
                continue
            words = set(e.sentence.split())
            matching = [k for k, o in enumerate(scene.objects)
                        if words & {o.colour, o.shape, o.size, o.texture} ==
                        words - {"the", "object", "one"}]
            assert matching == [e.target], (e.sentence, [o.look for o in scene.objects])


def test_the_stopping_rule_points_at_the_object_that_stops():
    scene = make_scene(21, 30, 96, num_objects=3, motions=("moving", "stops", "moving"))
    rules = {e.rule: e.target for e in scene_expressions(scene, np.random.default_rng(0))}
    assert rules["stops"] == 1


def test_a_referring_sentence_records_the_attributes_its_words_name():
    for seed in range(40):
        scene = make_scene(seed, 4, 64)
        for e in scene_expressions(scene, np.random.default_rng(seed)):
            if e.type_id != REFERRING:
                assert e.named == ()
                continue
            target = scene.objects[e.target]
            named_words = {getattr(target, name) for name in e.named}
            assert named_words == set(e.sentence.split()) - {"the", "object", "one"}, e
