"""The admin's commands (check-config, init, users, sms test): what `highlightd` runs
besides the daemon, each returning what to print or raising AdminError."""

from __future__ import annotations

EXIT_FAILED = 1
EXIT_USAGE = 2  # a bad config, an unknown network: what argparse also exits with


class AdminError(Exception):
    """A command cannot do what was asked; the message says why, in one line."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class UsageError(AdminError):
    """What was asked names something the config does not have (exit 2)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_USAGE)
