"""The segmentation node's goal inputs: Goal messages and text sentences applied to the engine.

Every accepted command is recorded in a ``GoalBook``, so the goals survive deactivate /
activate; refused ones are counted in the node's metrics and logged with the reason.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from std_msgs.msg import String

from vrs_hq_ros.ros import engine_settings
from vrs_hq_ros.ros.goal_input import (
    GoalBook,
    GoalLimitError,
    GoalMessageError,
    TextGoalInput,
    goal_msg_to_command,
)
from vrs_hq_ros.ros.node_metrics import NodeMetrics
from vrs_hq_ros.ros.parameters import NodeSettings


class GoalHandler:
    """Turns goal callbacks into engine commands.

    ``settings()`` returns the node's current settings; ``engine()`` the live engine, ``None``
    while the node is inactive (goals are then refused); ``lock`` is the node's engine lock
    (push and apply never overlap).
    """

    def __init__(self, settings: Callable[[], NodeSettings], metrics: NodeMetrics,
                 lock: threading.Lock, logger, engine: Callable[[], object | None]):
        self.book = GoalBook(settings().goals_max_goals)
        self.text = TextGoalInput(settings().goals_text_goal_id,
                                  settings().goals_max_sentence_chars)
        self._settings = settings
        self._metrics = metrics
        self._lock = lock
        self._logger = logger
        self._engine = engine

    def configure(self) -> None:
        """Take the limits of the freshly read settings (configure transition)."""
        settings = self._settings()
        self.book.max_goals = settings.goals_max_goals
        self.text.goal_id = settings.goals_text_goal_id
        self.text.max_chars = settings.goals_max_sentence_chars

    def restore(self, initial_sentence: str) -> None:
        """On activation: re-apply the recorded goals, or the initial sentence if none."""
        for cmd in self.book.replay():
            self.apply(cmd, record=False)
        if initial_sentence and not self.book.goals:
            self.on_text(String(data=initial_sentence))

    def forget(self) -> None:
        """Drop the recorded goals (cleanup)."""
        self.book.goals.clear()
        self.text.forget()

    def on_goal(self, msg) -> None:
        """Goal-topic callback (``vrs_hq_ros/msg/Goal``)."""
        try:
            cmd = goal_msg_to_command(msg, self._settings().goals_max_sentence_chars)
        except GoalMessageError as exc:
            self._metrics.goal(False, str(exc))
            self._logger.warning(f"goal {msg.goal_id!r} rejected: {exc}")
            return
        if self.book.unchanged(cmd):  # like a repeated text: no re-grounding, no log line
            return
        self.text.forget()
        self.apply(cmd)

    def on_text(self, msg: String) -> None:
        """Text-goal callback: a sentence replaces every goal, an empty one clears them."""
        try:
            commands = self.text.commands(msg.data)
        except GoalMessageError as exc:
            self._metrics.goal(False, str(exc))
            self._logger.warning(f"text goal rejected: {exc}")
            return
        for cmd in commands:  # CLEAR_ALL + ADD: one goal input, counted once
            if not self.apply(cmd, count=False):
                self.text.forget()
                return
        if commands:
            self._metrics.goal(True)

    def apply(self, cmd, record: bool = True, count: bool = True) -> bool:
        """Apply ``cmd`` to the engine; False (counted, logged) if refused or inactive."""
        engine = self._engine()
        if engine is None:
            return False
        try:
            if record:
                self.book.check(cmd)
            with self._lock:
                engine.apply(cmd)
        except (GoalLimitError, *engine_settings.GOAL_ERRORS) as exc:
            self._metrics.goal(False, str(exc))
            self._logger.warning(f"goal rejected: {exc}")
            return False
        if record:
            self.book.record(cmd)
        if record and count:
            self._metrics.goal(True)
        self._logger.info(f"goal {cmd.action.name} {cmd.goal_id!r} {cmd.sentence!r}")
        return True
