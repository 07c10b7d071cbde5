"""Named errors of the streaming engine (the node turns each into a log line and a counter)."""

from __future__ import annotations


class EngineError(Exception):
    """Base class of the engine's errors."""


class GoalError(EngineError, ValueError):
    """A goal command was refused (unknown or duplicate id, empty sentence, too many goals)."""


class FrameError(EngineError, ValueError):
    """A pushed frame is malformed or out of order (stamps must increase)."""


class EngineClosedError(EngineError, RuntimeError):
    """The engine was used after ``close()``."""
