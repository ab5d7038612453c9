"""The flows' ``CallChannel`` on a FastAGI session: prompts become ``STREAM FILE``, digit input ``GET DATA``.

``read_digits`` plays all prompts but the last with ``STREAM FILE`` (interruptible), and the last as the
prompt of ``GET DATA``, so a caller who knows the menu can type over it. A digit pressed during one of the
``STREAM FILE`` prompts is the first digit; the rest come from a ``GET DATA`` with an empty file name, which
Asterisk accepts and plays nothing for (``ast_app_getdata_full`` skips an empty prompt), so the caller hears
no extra beep. ``GET DATA`` always ends input on ``#`` and leaves it out; another terminator is cut here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ivr.agi.session import ALL_DIGITS, AgiSession


class AgiChannel:
    def __init__(self, session: AgiSession, prompt_path: Callable[[str], str]) -> None:
        self.session = session
        self.prompt_path = prompt_path  # prompt id (e.g. "welcome") -> sound file name Asterisk plays
        self.call_id = session.uniqueid
        self.caller = session.callerid
        self.dialled = session.dnid or session.extension

    async def answer(self) -> None:
        await self.session.answer()

    async def play(self, prompts: Sequence[str], *, interruptible: bool = True) -> str | None:
        escape = ALL_DIGITS if interruptible else ""
        for prompt in prompts:
            digit = await self.session.stream_file(self.prompt_path(prompt), escape)
            if digit is not None:
                return digit
        return None

    async def read_digits(self, prompts: Sequence[str], *, max_digits: int, timeout_seconds: float,
                          terminator: str = "#") -> str | None:
        if max_digits < 1:
            raise ValueError("max_digits must be at least 1")
        # 0 would mean Asterisk's default of 6 s, not "no wait".
        timeout_ms = max(1, round(timeout_seconds * 1000))
        first = await self.play(prompts[:-1])
        if first is None:
            last = self.prompt_path(prompts[-1]) if prompts else ""
            return _until(await self.session.get_data(last, timeout_ms, max_digits), terminator)
        if first == terminator or first == "#":
            return None
        if max_digits == 1:
            return first
        rest = await self.session.get_data("", timeout_ms, max_digits - 1)
        return _until(first + (rest or ""), terminator)

    async def set_variable(self, name: str, value: str) -> None:
        await self.session.set_variable(name, value)

    async def get_variable(self, name: str) -> str | None:
        return await self.session.get_variable(name)

    async def hangup(self) -> None:
        await self.session.hangup()


def _until(digits: str | None, terminator: str) -> str | None:
    if digits and terminator and terminator in digits:
        digits = digits[:digits.index(terminator)]
    return digits or None
