"""Goal messages and typed sentences become the right engine commands."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from vrs_hq_ros.engine.results import GoalAction, GoalCommand
from vrs_hq_ros.ros.goal_input import (
    GoalBook,
    GoalLimitError,
    GoalMessageError,
    TextGoalInput,
    goal_msg_to_command,
)


def _goal(action, goal_id="cup", sentence=" the red cup "):
    return SimpleNamespace(action=action, goal_id=goal_id, sentence=sentence)


def test_goal_message_maps_action_id_and_stripped_sentence():
    assert goal_msg_to_command(_goal(1)) == GoalCommand(GoalAction.REPLACE, "cup", "the red cup")
    assert goal_msg_to_command(_goal(3)) == GoalCommand(GoalAction.CLEAR_ALL)


def test_unknown_goal_action_raises_a_named_error():
    with pytest.raises(GoalMessageError, match="unknown goal action 7"):
        goal_msg_to_command(_goal(7))


def test_text_replaces_all_goals_and_repeats_are_ignored_until_forgotten():
    text = TextGoalInput("spoken")

    first = text.commands("  the mug ")
    repeat = text.commands("the mug")
    text.forget()
    again = text.commands("the mug")

    assert first == [GoalCommand(GoalAction.CLEAR_ALL),
                     GoalCommand(GoalAction.ADD, "spoken", "the mug")]
    assert repeat == []
    assert again == first


def test_empty_text_clears_all_goals():
    text = TextGoalInput()
    text.commands("the mug")

    assert text.commands("   ") == [GoalCommand(GoalAction.CLEAR_ALL)]


def test_goal_book_enforces_the_limit_but_allows_replacing_a_live_goal():
    book = GoalBook(max_goals=1)
    book.record(GoalCommand(GoalAction.ADD, "a", "first"))

    book.check(GoalCommand(GoalAction.REPLACE, "a", "other"))
    with pytest.raises(GoalLimitError, match="max_goals is 1"):
        book.check(GoalCommand(GoalAction.ADD, "b", "second"))


def test_goal_book_replays_live_goals_after_remove_and_clear():
    book = GoalBook(max_goals=4)
    for cmd in (GoalCommand(GoalAction.ADD, "a", "x"), GoalCommand(GoalAction.ADD, "b", "y"),
                GoalCommand(GoalAction.REPLACE, "a", "z"), GoalCommand(GoalAction.REMOVE, "b")):
        book.record(cmd)

    assert book.replay() == [GoalCommand(GoalAction.ADD, "a", "z")]
    book.record(GoalCommand(GoalAction.CLEAR_ALL))
    assert book.replay() == []
