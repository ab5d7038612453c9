"""Who is asking: the authenticated user of a request, with the org scope and permissions it implies."""

from __future__ import annotations

from dataclasses import dataclass, field

from backend.auth.permissions import Permission, Role, permissions_of
from backend.core.problems import Forbidden
from backend.orgs.scope import Scope


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    display_name: str
    org_id: int
    org_path: str
    org_name: str
    roles: frozenset[Role]
    session_id: str
    client_ip: str | None = None
    request_id: str | None = None
    permissions: frozenset[Permission] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "permissions", permissions_of(self.roles))

    @property
    def scope(self) -> Scope:
        return Scope.subtree(self.org_path)

    @property
    def at_head_office(self) -> bool:
        """The user's org is the root of the tree (总公司): its path holds one id, "/1/"."""
        return self.org_path.strip("/").count("/") == 0

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        if permission not in self.permissions:
            raise Forbidden(f"当前角色无「{permission.value}」权限")
