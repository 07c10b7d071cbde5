"""Goal messages and typed sentences become the right engine commands."""

from __future__ import annotations

import re
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


@pytest.mark.parametrize(("sentence", "reason"), [
    ("x" * 401, "401 characters is longer than goals.max_sentence_chars = 400"),
    ("the red\0 cup", "NUL character at position 7"),
    ("the red\x1b[2J cup", "control character '\\x1b'"),
    ("the red\ncup", "control character '\\n'"),
])
def test_long_nul_and_control_character_sentences_are_rejected_with_the_reason(sentence,
                                                                               reason):
    with pytest.raises(GoalMessageError, match=re.escape(reason)):
        goal_msg_to_command(_goal(0, sentence=sentence))
    with pytest.raises(GoalMessageError, match=re.escape(reason)):
        TextGoalInput().commands(sentence)
    assert goal_msg_to_command(_goal(0, sentence="x" * 400)).sentence == "x" * 400


def test_a_replace_with_the_live_sentence_is_recognised_as_unchanged():
    book = GoalBook(max_goals=2)
    book.record(GoalCommand(GoalAction.ADD, "cup", "the red cup"))

    assert book.unchanged(GoalCommand(GoalAction.REPLACE, "cup", "the red cup"))
    assert not book.unchanged(GoalCommand(GoalAction.REPLACE, "cup", "the blue cup"))
    assert not book.unchanged(GoalCommand(GoalAction.ADD, "cup", "the red cup"))
    assert not book.unchanged(GoalCommand(GoalAction.REPLACE, "mug", "the red cup"))
