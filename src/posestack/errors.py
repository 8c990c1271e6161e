"""Errors posestack raises for problems a user can fix.

Every message names the problem and the fix. The CLI prints the message alone
(no traceback) and exits with status 2.
"""

from __future__ import annotations


class PosestackError(Exception):
    """Base class: a problem with the user's input, environment or assets."""


class InputError(PosestackError, ValueError):
    """An input path, file or array is missing, unreadable or malformed."""


class AssetError(PosestackError):
    """A model or sample file is missing, corrupt or of the wrong kind."""


class OutputError(PosestackError):
    """The output location cannot be written."""
