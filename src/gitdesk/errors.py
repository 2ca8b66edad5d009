"""The one exception family of gitdesk; cli.py maps it to exit codes."""

from __future__ import annotations


class GitdeskError(Exception):
    """The desk refused the action; nothing was written (exit 1)."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\nhint: {self.hint}"
        return self.message


class UsageError(GitdeskError):
    """The command line itself is wrong (exit 2)."""

    exit_code = 2


class NotFound(GitdeskError):
    """A ticket, revision or file does not exist."""


class InvalidFile(GitdeskError):
    """A file of the desk does not parse or does not match its schema."""

    def __init__(self, path: str, problems: list[str], *, hint: str | None = None) -> None:
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{path}: invalid:\n{lines}", hint=hint)


class RuleViolation(GitdeskError):
    """A workflow or policy rule refuses the action."""


class Conflict(GitdeskError):
    """A conflict that a retry may clear: lock held, branch moved (exit 3)."""

    exit_code = 3


class VerificationFailed(GitdeskError):
    """Verification of history failed (exit 4)."""

    exit_code = 4
