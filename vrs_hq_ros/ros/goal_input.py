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

from vrs_hq_ros.engine.results import GoalAction, GoalCommand


class GoalMessageError(ValueError):
    """A Goal message carries an action the node does not know."""


def goal_msg_to_command(msg) -> GoalCommand:
    """Convert a ``vrs_hq_ros/msg/Goal`` to a ``GoalCommand`` (the engine judges ids, sentences)."""
    try:
        action = GoalAction(int(msg.action))
    except ValueError:
        raise GoalMessageError(f"unknown goal action {msg.action} for goal {msg.goal_id!r}; "
                               f"expected 0..3 (ADD, REPLACE, REMOVE, CLEAR_ALL)") from None
    if action is GoalAction.CLEAR_ALL:
        return GoalCommand(action)
    return GoalCommand(action, goal_id=msg.goal_id, sentence=msg.sentence.strip())


class TextGoalInput:
    """Turns sentences typed on the text topic into commands (see the module docstring)."""

    def __init__(self, goal_id: str = "text"):
        self.goal_id = goal_id
        self._current: str | None = None  # the sentence that is the only goal, if known

    def commands(self, text: str) -> list[GoalCommand]:
        """Return the commands that make ``text`` the only goal; [] if it already is."""
        sentence = text.strip()
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
