"""Goal messages and plain-text goals → engine ``GoalCommand``s (no rclpy).

Two inputs:

- ``vrs_hq_ros/msg/Goal`` on the goal topic: ADD / REPLACE / REMOVE / CLEAR_ALL, one command
  each, exactly as the message documents.
- ``std_msgs/String`` on the text-goal topic, for typing by hand
  (``ros2 topic pub /segment/goal_text std_msgs/msg/String "{data: 'the red mug'}"``):
  a sentence *replaces every current goal* with one goal whose id is the ``text_goal_id``
  parameter; an empty or blank string clears all goals. Re-publishing the sentence that is
  already the only goal changes nothing (``ros2 topic pub`` repeats at 1 Hz by default, and
  each repeat must not re-ground the track). A Goal message in between forgets that
  sentence, so the next text is applied again.
"""

from __future__ import annotations

import unicodedata

from vrs_hq_ros.engine.results import GoalAction, GoalCommand

DEFAULT_MAX_SENTENCE_CHARS = 400


class GoalMessageError(ValueError):
    """A goal input is refused: unknown action, or a sentence that is too long or not text."""


def check_sentence(sentence: str, max_chars: int = DEFAULT_MAX_SENTENCE_CHARS) -> str:
    """Return ``sentence`` stripped; ``GoalMessageError`` if too long or holding control chars.

    A long sentence would be logged and copied into every GoalResult; a NUL would be cut off
    silently by the C layers of ROS, so both are refused with the reason instead.
    """
    sentence = sentence.strip()
    if len(sentence) > max_chars:
        raise GoalMessageError(f"sentence of {len(sentence)} characters is longer than "
                               f"goals.max_sentence_chars = {max_chars}")
    if "\0" in sentence:
        raise GoalMessageError(f"sentence contains a NUL character at position "
                               f"{sentence.index(chr(0))}")
    bad = next((c for c in sentence if unicodedata.category(c) == "Cc"), None)
    if bad is not None:
        raise GoalMessageError(f"sentence contains the control character {bad!r}")
    return sentence


def goal_msg_to_command(msg, max_chars: int = DEFAULT_MAX_SENTENCE_CHARS) -> GoalCommand:
    """Convert a ``vrs_hq_ros/msg/Goal`` to a ``GoalCommand`` (the engine judges ids)."""
    try:
        action = GoalAction(int(msg.action))
    except ValueError:
        raise GoalMessageError(f"unknown goal action {msg.action} for goal {msg.goal_id!r}; "
                               f"expected 0..3 (ADD, REPLACE, REMOVE, CLEAR_ALL)") from None
    if action is GoalAction.CLEAR_ALL:
        return GoalCommand(action)
    sentence = check_sentence(msg.sentence, max_chars) if msg.sentence else ""
    return GoalCommand(action, goal_id=msg.goal_id, sentence=sentence)


class TextGoalInput:
    """Turns sentences typed on the text topic into commands (see the module docstring)."""

    def __init__(self, goal_id: str = "text", max_chars: int = DEFAULT_MAX_SENTENCE_CHARS):
        self.goal_id = goal_id
        self.max_chars = max_chars
        self._current: str | None = None  # the sentence that is the only goal, if known

    def commands(self, text: str) -> list[GoalCommand]:
        """Return the commands that make ``text`` the only goal; [] if it already is.

        ``GoalMessageError`` if the sentence is refused (see ``check_sentence``).
        """
        sentence = check_sentence(text, self.max_chars)
        if sentence == self._current:
            return []
        self._current = sentence
        if not sentence:
            return [GoalCommand(GoalAction.CLEAR_ALL)]
        return [GoalCommand(GoalAction.CLEAR_ALL),
                GoalCommand(GoalAction.ADD, goal_id=self.goal_id, sentence=sentence)]

    def forget(self) -> None:
        """Goals changed through another path; apply the next text even if it repeats."""
        self._current = None


class GoalLimitError(ValueError):
    """Adding the goal would exceed the ``goals.max_goals`` parameter."""


class GoalBook:
    """The node's record of live goals (id → sentence).

    It enforces ``goals.max_goals`` and re-applies the goals to a fresh engine after
    deactivate / activate.
    """

    def __init__(self, max_goals: int):
        self.max_goals = max_goals
        self.goals: dict[str, str] = {}

    def check(self, cmd: GoalCommand) -> None:
        """Raise ``GoalLimitError`` if ``cmd`` would create one goal too many."""
        creates = cmd.action in (GoalAction.ADD, GoalAction.REPLACE)
        if creates and cmd.goal_id not in self.goals and len(self.goals) >= self.max_goals:
            raise GoalLimitError(f"goal {cmd.goal_id!r} rejected: {len(self.goals)} goals are "
                                 f"live and goals.max_goals is {self.max_goals}")

    def unchanged(self, cmd: GoalCommand) -> bool:
        """Return True for a REPLACE that sets a live goal to the sentence it already has."""
        return (cmd.action is GoalAction.REPLACE and cmd.goal_id in self.goals
                and self.goals[cmd.goal_id] == cmd.sentence)

    def record(self, cmd: GoalCommand) -> None:
        """Update the record after the engine accepted ``cmd``."""
        if cmd.action is GoalAction.CLEAR_ALL:
            self.goals.clear()
        elif cmd.action is GoalAction.REMOVE:
            self.goals.pop(cmd.goal_id, None)
        else:
            self.goals[cmd.goal_id] = cmd.sentence

    def replay(self) -> list[GoalCommand]:
        """ADD commands that recreate every live goal on a new engine."""
        return [GoalCommand(GoalAction.ADD, goal_id=goal_id, sentence=sentence)
                for goal_id, sentence in self.goals.items()]
