"""Phone interface → (user id, org path), cached for the hub's routing.

The whole table of phones is small (one row per agent with a phone), so it is loaded at once and
reloaded every ``refresh_seconds``; an interface not in it is looked up alone (a phone assigned since
the last load) and a miss is remembered until the next reload, so an unknown phone costs one query
per period. The lookups are tree-wide by nature (``across_org_tree``) and return only ids and paths.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from sqlalchemy import select

from backend.auth.models import User
from backend.core.db import Database
from backend.hub.audience import Owner
from backend.orgs.models import Org
from backend.orgs.scope import across_org_tree
from backend.orgs.services import org_path_or_root

log = logging.getLogger("lianluo.hub")


class AgentDirectory:
    def __init__(self, db: Database, cti_org_code: str, *, refresh_seconds: float = 60.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._db = db
        self._org_code = cti_org_code
        self._refresh_seconds = refresh_seconds
        self._monotonic = monotonic
        self._owners: dict[str, Owner | None] = {}  # None: looked up, no such phone
        self._unanswered: str | None = None
        self._loaded_at: float | None = None
        self._lock = asyncio.Lock()

    async def owner(self, interface: str) -> Owner | None:
        await self._fresh()
        return await self._owner(interface)

    async def owners(self, interfaces: Iterable[str]) -> list[Owner]:
        # One freshness check for a whole queue's members: this runs for every call joining a queue.
        await self._fresh()
        found = [self._owners[i] if i in self._owners else await self._owner(i) for i in interfaces]
        return [o for o in found if o is not None]

    async def _owner(self, interface: str) -> Owner | None:
        if interface not in self._owners:
            async with self._db.session() as session:
                row = (await session.execute(across_org_tree(
                    select(User.id, Org.path).join(Org, Org.id == User.org_id)
                    .where(User.phone_interface == interface)))).first()
            self._owners[interface] = Owner(row[0], row[1]) if row else None
        return self._owners[interface]

    async def unanswered_path(self) -> str:
        await self._fresh()
        assert self._unanswered is not None
        return self._unanswered

    async def _fresh(self) -> None:
        if self._loaded_at is not None and self._monotonic() - self._loaded_at < self._refresh_seconds:
            return
        async with self._lock:
            if self._loaded_at is not None and self._monotonic() - self._loaded_at < self._refresh_seconds:
                return
            await self._load()

    async def _load(self) -> None:
        async with self._db.session() as session:
            rows = (await session.execute(across_org_tree(
                select(User.phone_interface, User.id, Org.path).join(Org, Org.id == User.org_id)
                .where(User.phone_interface.is_not(None))))).all()
            path = await org_path_or_root(session, self._org_code)
            if path is None:
                log.warning("cti_org_code %r names no org; unanswered calls go to the root", self._org_code)
                path = await org_path_or_root(session, "")
        self._owners = {interface: Owner(user_id, org_path) for interface, user_id, org_path in rows}
        self._unanswered = path or "/"
        self._loaded_at = self._monotonic()
