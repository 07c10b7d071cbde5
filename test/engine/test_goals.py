import pytest

from vrs_hq_ros.engine.errors import GoalError
from vrs_hq_ros.engine.goals import Goal, GoalRegistry
from vrs_hq_ros.engine.results import GoalAction, GoalCommand
from vrs_hq_ros.tracking.memory_bank import MemoryLimits, ObjectMemory
from vrs_hq_ros.tracking.object_track import ObjectTrack


def test_add_replace_remove_clear():
    goals = GoalRegistry()
    goals.apply(GoalCommand(GoalAction.ADD, "cup", "the red cup"))
    goals.apply(GoalCommand(GoalAction.ADD, "box", "the box"))
    cup = goals.get("cup")
    assert (cup.label, goals.get("box").label) == (1, 2)
    goals.apply(GoalCommand(GoalAction.REPLACE, "cup", "the blue cup"))
    replaced = goals.get("cup")
    assert replaced.sentence == "the blue cup"
    assert replaced.track_id != cup.track_id and replaced.label == cup.label
    assert replaced.epoch != cup.epoch
    goals.apply(GoalCommand(GoalAction.REPLACE, "new", "a new goal"))  # REPLACE creates
    removed = goals.apply(GoalCommand(GoalAction.REMOVE, "box"))
    assert [g.goal_id for g in removed] == ["box"]
    assert [g.goal_id for g in goals] == ["cup", "new"]
    goals.apply(GoalCommand(GoalAction.CLEAR_ALL))
    assert len(goals) == 0


@pytest.mark.parametrize("cmd", [
    GoalCommand(GoalAction.ADD, "cup", "again"),
    GoalCommand(GoalAction.REMOVE, "unknown"),
    GoalCommand(GoalAction.ADD, "", "no id"),
    GoalCommand(GoalAction.ADD, "x", "   "),
    GoalCommand(99, "x", "bad action"),
])
def test_bad_commands_raise_goal_error(cmd):
    goals = GoalRegistry()
    goals.apply(GoalCommand(GoalAction.ADD, "cup", "the red cup"))
    with pytest.raises(GoalError):
        goals.apply(cmd)
    assert [g.goal_id for g in goals] == ["cup"]


def test_schedule_first_window_then_every_stride_then_early_when_lost():
    goal = Goal("g", "s", track_id=1, label=1, epoch=1)
    args = dict(min_frames=4, stride=8, lost_regrounding_frames=3)
    assert not goal.due_for_reasoning(2, buffered=3, **args)
    assert goal.due_for_reasoning(3, buffered=4, **args)
    goal.last_window_index = 3
    assert not goal.due_for_reasoning(10, buffered=11, **args)
    assert goal.due_for_reasoning(11, buffered=12, **args)
    goal.track = ObjectTrack(ObjectMemory(MemoryLimits(6, 15, 1)), history_frames=8)
    goal.track.lost_frames = 3
    assert goal.due_for_reasoning(6, buffered=7, **args)  # lost: re-ground before the stride
    goal.reasoning_in_flight = True
    assert not goal.due_for_reasoning(20, buffered=21, **args)
