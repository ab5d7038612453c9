"""What a call flow can do to the call: the one interface between flows and the telephony under them.

The FastAGI server adapts an AGI session to it (``ivr.agi``); tests use a scripted fake. Prompt names
are prompt ids from the prompt catalogue (``ivr/prompts/zh.yaml``), e.g. ``welcome``, ``digit-5``; the
adapter turns them into sound file names Asterisk plays.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class CallerGone(Exception):
    """The caller hung up (AGI ``HANGUP`` or the socket closed): the flow stops where it is."""


class ChannelTimeout(Exception):
    """Asterisk did not answer a command in time: the call is treated as lost to the flow."""


class CallChannel(Protocol):
    caller: str | None  # the caller's number (CALLERID(num)), None when withheld
    dialled: str | None  # the number the caller dialled (the hotline), when Asterisk says
    call_id: str  # the call's Linkedid as the CTI knows it (for an inbound call, the channel's Uniqueid)

    async def answer(self) -> None: ...

    async def play(self, prompts: Sequence[str], *, interruptible: bool = True) -> str | None:
        """Play the prompts in turn; the digit that interrupted them (then the rest is skipped), or None."""

    async def read_digits(self, prompts: Sequence[str], *, max_digits: int, timeout_seconds: float,
                          terminator: str = "#") -> str | None:
        """Play the prompts, then collect up to ``max_digits`` digits (a digit during the prompts counts
        as the first). ``terminator`` ends input early and is not returned. None: nothing was pressed
        before the timeout."""

    async def set_variable(self, name: str, value: str) -> None: ...

    async def get_variable(self, name: str) -> str | None: ...

    async def hangup(self) -> None: ...
