"""How the long-running processes run their event loop: uvloop (libuv) where it is installed, as uvicorn does
on its own, else asyncio's default loop. uvloop roughly halves the loop's own cost per socket event, which is
most of what a FastAGI server or a websocket hub does; the code is the same on either loop."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it on every supported platform
        return asyncio.run(main)
    return uvloop.run(main)
