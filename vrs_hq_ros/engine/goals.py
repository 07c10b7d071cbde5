"""Goals: a sentence to ground, its reasoning schedule and its track.

Commands follow ``msg/Goal.msg``: ADD creates a goal (refused if the id exists), REPLACE
creates it or swaps its sentence (new track id, the track starts over), REMOVE drops one,
CLEAR_ALL drops all. Every goal gets a stable label (1..255) for the label image.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

from vrs_hq_ros.engine.errors import GoalError
from vrs_hq_ros.engine.results import GoalAction, GoalCommand
from vrs_hq_ros.tracking.object_track import ObjectTrack

logger = logging.getLogger(__name__)

MAX_LABEL = 255  # mono8 label image; 0 is background


@dataclass
class Goal:
    """One live goal.

    ``epoch`` changes whenever the sentence changes, so a reasoning result for an older
    sentence is recognised and dropped. ``last_window_index`` is the engine index of the
    newest frame of the last window submitted for this goal.
    """

    goal_id: str
    sentence: str
    track_id: int
    label: int
    epoch: int
    track: Optional[ObjectTrack] = None
    last_window_index: Optional[int] = None
    reasoning_in_flight: bool = False
    keyframe_stamp_ns: int = 0
    window_id: int = 0

    def due_for_reasoning(self, newest_index: int, buffered: int, min_frames: int,
                          stride: int, lost_regrounding_frames: int) -> bool:
        """Whether a window should be reasoned for this goal now (see ``EngineConfig``)."""
        if self.reasoning_in_flight:
            return False
        if self.last_window_index is None:
            return buffered >= min_frames
        since = newest_index - self.last_window_index
        if since >= stride:
            return True
        lost = self.track is not None and self.track.lost_frames >= lost_regrounding_frames
        return lost and since >= lost_regrounding_frames


class GoalRegistry:
    """The live goals, keyed by id, in the order they were added."""

    def __init__(self) -> None:
        self.goals: dict[str, Goal] = {}
        self._next_track_id = 1
        self._next_epoch = 1

    def apply(self, cmd: GoalCommand) -> list[Goal]:
        """Apply ``cmd``; return the goals it removed (their state is to be freed).

        Raises ``GoalError`` for an unknown action, an empty id or sentence, a duplicate ADD,
        a REMOVE of an unknown id, or more goals than labels.
        """
        if not isinstance(cmd, GoalCommand):
            raise GoalError(f"expected a GoalCommand, got {type(cmd).__name__}")
        try:
            action = GoalAction(cmd.action)
        except ValueError:
            raise GoalError(f"unknown goal action {cmd.action!r}") from None
        if action is GoalAction.CLEAR_ALL:
            removed = list(self.goals.values())
            self.goals.clear()
            return removed
        goal_id = cmd.goal_id.strip() if isinstance(cmd.goal_id, str) else ""
        if not goal_id:
            raise GoalError(f"{action.name} needs a non-empty goal id")
        if action is GoalAction.REMOVE:
            if goal_id not in self.goals:
                raise GoalError(f"cannot remove goal {goal_id!r}: no such goal "
                                f"(live: {sorted(self.goals)})")
            return [self.goals.pop(goal_id)]
        sentence = cmd.sentence.strip() if isinstance(cmd.sentence, str) else ""
        if not sentence:
            raise GoalError(f"{action.name} of goal {goal_id!r} needs a non-empty sentence")
        old = self.goals.get(goal_id)
        if action is GoalAction.ADD and old is not None:
            raise GoalError(f"cannot add goal {goal_id!r}: it exists (use REPLACE)")
        label = old.label if old is not None else self._free_label()
        self.goals[goal_id] = Goal(goal_id=goal_id, sentence=sentence,
                                   track_id=self._take_track_id(), label=label,
                                   epoch=self.new_epoch())
        logger.info("goal %r %s: %r", goal_id, action.name.lower(), sentence)
        return [old] if old is not None else []

    def get(self, goal_id: str) -> Optional[Goal]:
        """Return the live goal with ``goal_id``."""
        return self.goals.get(goal_id)

    def __len__(self) -> int:
        return len(self.goals)

    def __iter__(self):
        return iter(list(self.goals.values()))

    def _free_label(self) -> int:
        used = {g.label for g in self.goals.values()}
        for label in range(1, MAX_LABEL + 1):
            if label not in used:
                return label
        raise GoalError(f"too many goals: at most {MAX_LABEL} can be live at once")

    def _take_track_id(self) -> int:
        self._next_track_id += 1
        return self._next_track_id - 1

    def new_epoch(self) -> int:
        """Return a fresh epoch number (results tagged with an older one are dropped)."""
        self._next_epoch += 1
        return self._next_epoch - 1
