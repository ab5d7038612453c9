"""Who may read which knowledge article.

Articles are ``OrgScoped`` by the org of their author, so the session's automatic filter shows a caller the
articles of their own subtree: the drafts and submissions a reviewer works on, and everything a manager
oversees. That is also the rule for every change (edit, submit, review): an article outside the subtree is
not found.

Published knowledge travels the other way, down the tree: an article published by a reviewer is meant for
the reviewer's org and everything beneath it (``published_org_id``), and a head-office reviewer can publish
one for the whole company (``visibility = all``). An outlet agent must read what its branch published, which
the subtree filter would hide. So reading published articles goes through ONE explicit tree-wide statement,
:func:`published_readable`, whose condition only ever admits ``status = published`` rows that are

- company-wide (``visibility = all``), or
- published for an org on the caller's path to the root (the caller's org or one of its ancestors), or
- owned by an org inside the caller's subtree (what the ordinary scope shows anyway).

Drafts, submissions, returned and archived articles never pass through it: they stay under the ordinary
scope, and among those only their author and reviewers may open them (:func:`may_manage`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.sql.elements import ColumnElement

from backend.auth.permissions import Permission
from backend.auth.principal import Principal
from backend.knowledge.models import ArticleStatus, KbArticle, Visibility
from backend.orgs.scope import across_org_tree


def path_ids(org_path: str) -> list[int]:
    """The ids on a materialised path, root first: "/1/4/17/" → [1, 4, 17]."""
    return [int(part) for part in org_path.strip("/").split("/") if part]


def published_condition(principal: Principal) -> ColumnElement[bool]:
    return (KbArticle.status == ArticleStatus.published) & or_(
        KbArticle.visibility == Visibility.all,
        KbArticle.published_org_id.in_(path_ids(principal.org_path)),
        KbArticle.org_id.in_(principal.scope.org_ids_clause()),
    )


def published_readable(principal: Principal, *columns: Any) -> Select[Any]:
    """SELECT of the published articles ``principal`` may read, wherever their org sits (see module doc).
    ``columns`` default to the whole article."""
    stmt = select(*columns) if columns else select(KbArticle)
    return across_org_tree(stmt.where(published_condition(principal)))


def may_manage(principal: Principal, article: KbArticle) -> bool:
    """Whether ``principal`` may see the article in any state: its author, or a reviewer. Only for an article
    loaded through the ordinary scope, so "reviewer" means one at the article's org or above."""
    return article.author_id == principal.user_id or principal.can(Permission.kb_review)
