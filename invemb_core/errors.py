"""The one exception type a user of InvEmb can cause, and nothing else.

Everything a user controls (text, file paths, configuration values, checkpoint directories) that turns
out to be unusable raises :class:`InvEmbError` with a message that says what is wrong and what to do.
Bugs inside the package still raise ordinary Python exceptions.
"""

from __future__ import annotations


class InvEmbError(ValueError):
    """A problem the user can fix: bad input text, a missing or broken checkpoint, a bad config value."""
