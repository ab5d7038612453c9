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


def issue(key: str, user_id: int, session_id: str, issued_at: datetime, expires_at: datetime) -> str:
    payload = {"sub": str(user_id), "sid": session_id, "iat": int(issued_at.timestamp()),
               "exp": int(expires_at.timestamp()), "iss": ISSUER}
    return jwt.encode(payload, key, algorithm=ALGORITHM)


def read(key: str, token: str, now: datetime) -> TokenClaims:
    try:
        data = jwt.decode(token, key, algorithms=[ALGORITHM], issuer=ISSUER,
                          options={"require": ["sub", "sid", "exp", "iat"], "verify_exp": False})
    except jwt.PyJWTError as exc:
        raise BadToken(str(exc)) from exc
    # Expiry is checked against the injected clock, not the wall clock, so tests can move time.
    if data["exp"] <= now.timestamp():
        raise BadToken("expired")
    return TokenClaims(int(data["sub"]), str(data["sid"]), datetime.fromtimestamp(data["exp"], UTC))
