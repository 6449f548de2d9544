"""How a night ends when it did its work but a source was not healthy."""

from __future__ import annotations


class FailedNight(Exception):  # noqa: N818 (a verdict, not an error of the program)
    """A run that did its work but ends Failed (an unhealthy source): the reason, and the summary in ``.summary``.
    An exception, since a deployment's flow run raises its Failed state's data (a dict there is a TypeError)."""

    def __init__(self, message: str, summary: dict):
        super().__init__(message, summary)

    @property
    def summary(self) -> dict:
        return self.args[1]

    def __str__(self) -> str:
        return self.args[0]
