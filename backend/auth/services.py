"""Login, logout, lockout, token verification and user creation."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from backend.audit.services import record
from backend.auth import tokens
from backend.auth.models import AuthSession, User, UserRole
from backend.auth.passwords import WeakPassword, check_strength, hash_password, verify_password
from backend.auth.permissions import Role
from backend.auth.principal import Principal
from backend.core.bus import Bus, publish_quietly
from backend.core.clock import Clock
from backend.core.events import Event, UserLocked, UserLoggedIn, UserLoggedOut
from backend.core.problems import Conflict, Invalid, Locked, NotFound, Unauthenticated
from backend.core.settings import Settings
from backend.orgs.models import Org
from backend.orgs.scope import Scope, across_org_tree

log = logging.getLogger("lianluo.auth")

BAD_CREDENTIALS = "用户名或密码错误"


@dataclass(frozen=True)
class LoginResult:
    token: str
    expires_at: datetime
    principal: Principal


def _principal(user: User, session_id: str, client_ip: str | None, request_id: str | None = None) -> Principal:
    return Principal(
        user_id=user.id, username=user.username, display_name=user.display_name, org_id=user.org_id,
        org_path=user.org.path, org_name=user.org.name, roles=frozenset(Role(r) for r in user.roles),
        session_id=session_id, client_ip=client_ip, request_id=request_id,
    )


async def _root_org_id(session: AsyncSession) -> int | None:
    return await session.scalar(select(Org.id).where(Org.parent_id.is_(None)).order_by(Org.id).limit(1))


class AuthService:
    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock, bus: Bus | None = None) -> None:
        self.session = session
        self.settings = settings
        self.clock = clock
        self.bus = bus

    async def login(self, username: str, password: str, *, client_ip: str | None, user_agent: str | None) -> LoginResult:
        now = self.clock.now()
        # Who is logging in is not known yet: the lookup spans the whole tree.
        user = await self.session.scalar(across_org_tree(select(User).where(User.username == username)))
        if user is None or not user.active:
            await verify_password(None, password)
            await record(self.session, None, action="auth.login_failed", detail={"reason": "unknown_user"},
                         username=username[:64], org_id=await _root_org_id(self.session), client_ip=client_ip, at=now)
            await self.session.commit()
            raise Unauthenticated(BAD_CREDENTIALS)
        if user.locked_until is not None and user.locked_until > now:
            raise Locked(f"连续登录失败次数过多，账户已锁定至 {user.locked_until.astimezone().strftime('%H:%M')}",
                         locked_until=user.locked_until.isoformat())
        if not await verify_password(user.password_hash, password):
            await self._count_failure(user, now, client_ip)
            raise Unauthenticated(BAD_CREDENTIALS)

        session_id = secrets.token_urlsafe(32)
        expires = now + timedelta(minutes=self.settings.token_ttl_minutes)
        user.failed_logins = 0
        user.locked_until = None
        self.session.add(AuthSession(id=session_id, user_id=user.id, created_at=now, expires_at=expires,
                                     client_ip=client_ip, user_agent=(user_agent or "")[:256]))
        principal = _principal(user, session_id, client_ip)
        await record(self.session, principal, action="auth.login", at=now)
        await self.session.commit()
        await self._notify(UserLoggedIn(user_ids=(user.id,), org_path=principal.org_path, user_id=user.id,
                                        username=user.username, client_ip=client_ip))
        token = tokens.issue(self.settings.signing_key, user.id, session_id, now, expires)
        return LoginResult(token, expires, principal)

    async def _notify(self, event: Event) -> None:
        if self.bus is not None:
            await publish_quietly(self.bus, event, node=self.settings.node_id)

    async def _count_failure(self, user: User, now: datetime, client_ip: str | None) -> None:
        # Atomic increment: parallel wrong guesses must all count.
        failures = await self.session.scalar(
            update(User).where(User.id == user.id).values(failed_logins=User.failed_logins + 1)
            .returning(User.failed_logins)
        )
        detail = {"reason": "bad_password", "failures": failures}
        locked_until = None
        if failures is not None and failures >= self.settings.lockout_threshold:
            until = locked_until = now + timedelta(minutes=self.settings.lockout_minutes)
            await self.session.execute(
                update(User).where(User.id == user.id).values(failed_logins=0, locked_until=until)
            )
            await self.session.execute(
                update(AuthSession).where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            detail["locked_until"] = until.isoformat()
            log.warning("account %s locked after %s failed logins", user.username, failures)
        await record(self.session, None, action="auth.login_failed", subject_type="user", subject_id=str(user.id),
                     detail=detail, username=user.username, org_id=user.org_id, client_ip=client_ip, at=now)
        await self.session.commit()
        if locked_until is not None:
            await self._notify(UserLocked(user_ids=(user.id,), org_path=user.org.path, user_id=user.id,
                                          username=user.username, locked_until=locked_until))

    async def authenticate(self, token: str, *, client_ip: str | None = None, request_id: str | None = None) -> Principal:
        now = self.clock.now()
        try:
            claims = tokens.read(self.settings.signing_key, token, now)
        except tokens.BadToken:
            raise Unauthenticated() from None
        # Every request pays for this: one round trip for session, user, org and roles together.
        row = await self.session.execute(across_org_tree(
            select(AuthSession, User).join(User, User.id == AuthSession.user_id)
            .options(joinedload(User.role_rows))
            .where(AuthSession.id == claims.session_id, AuthSession.user_id == claims.user_id)
        ))
        found = row.unique().first()
        if found is None:
            raise Unauthenticated()
        auth_session, user = found
        if auth_session.revoked_at is not None or auth_session.expires_at <= now or not user.active:
            raise Unauthenticated()
        return _principal(user, auth_session.id, client_ip, request_id)

    async def logout(self, principal: Principal) -> None:
        now = self.clock.now()
        await self.session.execute(
            update(AuthSession).where(AuthSession.id == principal.session_id).values(revoked_at=now)
        )
        await record(self.session, principal, action="auth.logout", at=now)
        await self.session.commit()
        await self._notify(UserLoggedOut(user_ids=(principal.user_id,), org_path=principal.org_path,
                                         user_id=principal.user_id, username=principal.username))

    async def purge_expired_sessions(self) -> int:
        cutoff = self.clock.now() - timedelta(days=1)
        result = await self.session.execute(
            delete(AuthSession).where(or_(AuthSession.expires_at < cutoff, AuthSession.revoked_at < cutoff))
        )
        await self.session.commit()
        return result.rowcount or 0


async def create_user(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    display_name: str,
    org_id: int,
    roles: list[Role],
    now: datetime,
    mobile: str | None = None,
    email: str | None = None,
    check_password: bool = True,
    password_hash: str | None = None,
) -> User:
    """Create a user in an org the session's scope can see (an org outside it is "not found")."""
    if not roles:
        raise Invalid("至少需要一个角色")
    if check_password:
        try:
            check_strength(password)
        except WeakPassword as exc:
            raise Invalid(str(exc)) from None
    org = await session.get(Org, org_id)
    scope: Scope = session.info.get("scope") or Scope.everything()
    if org is None or not scope.contains_path(org.path):
        raise NotFound("机构不存在")
    # Usernames are unique in the whole tree, not only in the part the creator can see.
    if await session.scalar(across_org_tree(select(User.id).where(User.username == username))) is not None:
        raise Conflict(f"用户名 {username} 已存在")
    user = User(
        username=username, display_name=display_name, org_id=org.id, org=org,
        password_hash=password_hash or await hash_password(password),
        mobile=mobile, email=email, created_at=now,
        role_rows=[UserRole(role=Role(r).value) for r in sorted(set(roles))],
    )
    session.add(user)
    await session.flush()
    return user
