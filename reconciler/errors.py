"""One small exception tree. The CLI edge turns it into a message and an exit code.

Nothing below the CLI prints or exits: it raises one of these, and `cli.run` decides how it
looks and which pinned exit code it maps to (DESIGN.md, "Exit codes").
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes pinned in DESIGN.md; every command maps its outcome to one of these."""

    OK = 0
    ERROR = 1
    CHANGES_PENDING = 2
    ATTENTION = 3
    WAIT_TIMEOUT = 4
    INTERRUPTED = 130


class ReconcileError(Exception):
    """Base of every error we expect and explain. `str()` is the one-paragraph message."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class UsageError(ReconcileError):
    """The command line itself is wrong (unknown option, bad value, missing path)."""


class ManifestError(ReconcileError):
    """One or more manifests are invalid; `problems` holds every one found, in order."""

    def __init__(self, problems: list[object]) -> None:
        count = len(problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} found in the manifests.")
        self.problems = problems


class StateError(ReconcileError):
    """The state document is unreadable, corrupt, of a newer format, or cannot be written."""


class LockError(StateError):
    """Another process holds the state lock."""


class CloudError(ReconcileError):
    """An AWS call failed in a way the caller must hear about (credentials, endpoint, access)."""
