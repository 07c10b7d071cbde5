"""Goal callbacks reach the engine's goal registry, are recorded, counted and restored."""

from __future__ import annotations

import logging
import threading

from std_msgs.msg import String
from vrs_hq_ros.msg import Goal

from vrs_hq_ros.engine.goals import GoalRegistry
from vrs_hq_ros.ros.goal_handler import GoalHandler
from vrs_hq_ros.ros.node_metrics import NodeMetrics
from vrs_hq_ros.ros.parameters import SPECS, NodeSettings


def _handler(engines: list):
    """A handler whose engine is the last of ``engines`` (None: the node is inactive)."""
    settings = NodeSettings.from_values({spec.name: spec.default for spec in SPECS})
    metrics = NodeMetrics()
    handler = GoalHandler(lambda: settings, metrics, threading.Lock(),
                          logging.getLogger("test_goal_handler"), lambda: engines[-1])
    return handler, metrics


def test_text_and_goal_messages_reach_the_engine_and_are_counted_once():
    registry = GoalRegistry()
    handler, metrics = _handler([registry])

    handler.on_text(String(data="the red mug"))
    handler.on_text(String(data="the red mug"))  # ros2 topic pub repeats: nothing new
    handler.on_goal(Goal(action=Goal.ACTION_ADD, goal_id="cup", sentence="the blue cup"))
    handler.on_goal(Goal(action=Goal.ACTION_REMOVE, goal_id="none", sentence=""))

    assert [g.goal_id for g in registry] == ["text", "cup"]
    assert handler.book.goals == {"text": "the red mug", "cup": "the blue cup"}
    snap = metrics.snapshot()
    assert (snap.goals_accepted, snap.goals_rejected) == (2, 1)
    assert "cannot remove goal 'none'" in snap.last_error


def test_recorded_goals_are_restored_into_a_new_engine_and_refused_while_inactive():
    engines = [GoalRegistry()]
    handler, metrics = _handler(engines)
    handler.on_goal(Goal(action=Goal.ACTION_ADD, goal_id="cup", sentence="the blue cup"))

    fresh = GoalRegistry()
    engines.append(fresh)  # the node's next activation builds a new engine
    handler.restore(initial_sentence="ignored: goals were recorded")
    assert [(g.goal_id, g.sentence) for g in fresh] == [("cup", "the blue cup")]

    engines.append(None)  # inactive
    assert not handler.apply(handler.book.replay()[0])
    assert metrics.snapshot().goals_accepted == 1  # the restore is not counted again
