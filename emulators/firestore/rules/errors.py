"""Errors of loading and of evaluating security rules."""

from __future__ import annotations


class RulesSyntaxError(ValueError):
    """A rules file the emulator cannot load: bad syntax or an unsupported construct."""

    def __init__(self, message: str, line: int, column: int = 0) -> None:
        where = f"line {line}" + (f", column {column}" if column else "")
        super().__init__(f"firestore.rules {where}: {message}")
        self.line = line
        self.column = column


class EvaluationError(Exception):
    """An error value during evaluation; the allow clause it occurs in is false (as Firestore)."""
