"""Org-subtree scoping: the one mechanism that limits every business query to what the caller may see.

Business tables inherit :class:`OrgScoped` (an ``org_id`` column). Each database session carries a
:class:`Scope` in ``session.info["scope"]``; an ORM hook adds "org_id within the scope's subtrees" to
every SELECT touching an ``OrgScoped`` entity — including relationship loads and ``session.get`` — so
an object outside the subtree is simply not found (the HTTP layer turns that into 404). A session with
no scope that touches scoped data raises :class:`ScopeMissing`: system jobs must say ``Scope.everything()``.
A single statement that is tree-wide by nature (who is logging in, is this username taken) says so
with :func:`across_org_tree`, rather than widening the session it runs in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Executable, ForeignKey, event, literal_column, select
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, declared_attr, mapped_column, with_loader_criteria

from backend.orgs.models import Org, subtree_bounds


class ScopeMissing(RuntimeError):
    """A query touched org-scoped data in a session that declared no scope."""


class OrgScoped:
    """Mixin for rows that belong to one org of the tree."""

    @declared_attr
    def org_id(cls) -> Mapped[int]:  # noqa: N805 - SQLAlchemy declared_attr signature
        return mapped_column(ForeignKey("orgs.id", ondelete="RESTRICT"), index=True)

    @classmethod
    def in_scope(cls, org_ids: Any) -> Any:
        """The rule "this row is visible to the orgs ``org_ids`` (a SELECT of org ids)". A table whose rows
        are shared beyond their org (a ticket being countersigned by another branch) widens it here, so the
        one mechanism stays one."""
        if cls is OrgScoped:
            # SQLAlchemy first traces the criteria lambda with the mixin itself (to find its bound values);
            # the mixin has no mapped column, so the trace gets the same shape by name.
            return literal_column("org_id").in_(org_ids)
        return cls.org_id.in_(org_ids)


@dataclass(frozen=True)
class Scope:
    """The org subtree a caller may see, by its root's path. ``path=None`` means everything (system jobs)."""

    path: str | None

    @classmethod
    def everything(cls) -> Scope:
        return cls(None)

    @classmethod
    def subtree(cls, org_path: str) -> Scope:
        return cls(org_path)

    @property
    def unrestricted(self) -> bool:
        return self.path is None

    def contains_path(self, path: str) -> bool:
        """In-memory form of the same rule, for data that comes from outside the database."""
        return self.path is None or path.startswith(self.path)

    def org_ids_clause(self):  # type: ignore[no-untyped-def]
        """SELECT of the org ids inside this scope (a range scan on the unique path index)."""
        assert self.path is not None
        lo, hi = subtree_bounds(self.path)
        return select(Org.id).where(Org.path >= lo, Org.path < hi)


S = TypeVar("S", bound=Executable)


def across_org_tree(statement: S) -> S:
    """Mark one statement as tree-wide, whatever the session's scope."""
    return statement.execution_options(org_scope=Scope.everything())


def _touches_scoped_rows(state: ORMExecuteState) -> bool:
    return any(issubclass(m.class_, OrgScoped) for m in state.all_mappers)


@event.listens_for(Session, "do_orm_execute")
def _apply_scope(state: ORMExecuteState) -> None:
    if not state.is_select or state.is_column_load or not _touches_scoped_rows(state):
        return
    scope = state.execution_options.get("org_scope") or state.session.info.get("scope")
    if scope is None:
        raise ScopeMissing("org-scoped data queried without a scope; pass Scope.everything() for system work")
    if scope.unrestricted:
        return
    lo, hi = subtree_bounds(scope.path)
    # The lambda form adapts to aliases (a policy joined to its holder and insured). Its closure holds
    # only the two strings, which SQLAlchemy tracks as bound parameters: the cached SQL is shared,
    # each user's bounds are not.
    state.statement = state.statement.options(
        with_loader_criteria(
            OrgScoped,
            lambda cls: cls.in_scope(select(Org.id).where(Org.path >= lo, Org.path < hi)),
            include_aliases=True,
        )
    )
