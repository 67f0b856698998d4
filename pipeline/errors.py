"""One family of errors a user can act on: each says what is wrong and how to fix it.

The CLI catches `AscoltoError` in one place and prints its message with `exit_code`; flows let it
fail the run with the same sentence. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class AscoltoError(Exception):
    """A failure the user can fix; the message names the file, row or option and the fix."""

    exit_code = 2


class NoRunYet(AscoltoError, LookupError):
    """The data directory has no completed run to build on."""


class NoStore(AscoltoError, FileNotFoundError):
    """There is no ascolto store in the data directory."""


class InputError(AscoltoError, ValueError):
    """An input the whole run depends on is missing or unreadable."""
