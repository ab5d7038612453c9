"""Signed access tokens (JWT, HS256). A token names its login session so it can be revoked server-side."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import jwt

ALGORITHM = "HS256"
ISSUER = "lianluo"


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    session_id: str
    expires_at: datetime


class BadToken(Exception):
    pass


# Servers of one deployment may disagree by this much about the time.
CLOCK_SKEW_SECONDS = 60


def issue(key: str, user_id: int, session_id: str, issued_at: datetime, expires_at: datetime) -> str:
    payload = {"sub": str(user_id), "sid": session_id, "iat": int(issued_at.timestamp()),
               "exp": int(expires_at.timestamp()), "iss": ISSUER}
    return jwt.encode(payload, key, algorithm=ALGORITHM)


def read(key: str, token: str, now: datetime) -> TokenClaims:
    try:
        data = jwt.decode(token, key, algorithms=[ALGORITHM], issuer=ISSUER,
                          options={"require": ["sub", "sid", "exp", "iat"], "verify_exp": False,
                                   "verify_iat": False})
    except jwt.PyJWTError as exc:
        raise BadToken(str(exc)) from exc
    # Both ends of the token's life are checked against the injected clock, not the wall clock, so
    # tests can move time either way (PyJWT would refuse an ``iat`` ahead of the real clock).
    if not isinstance(data["iat"], int | float) or data["iat"] > now.timestamp() + CLOCK_SKEW_SECONDS:
        raise BadToken("issued in the future")
    if data["exp"] <= now.timestamp():
        raise BadToken("expired")
    return TokenClaims(int(data["sub"]), str(data["sid"]), datetime.fromtimestamp(data["exp"], UTC))
