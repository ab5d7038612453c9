"""The full-text condition in each database's own terms: which tickets' words contain every query word.

Query words come from backend.core.text.query_words (jieba's precise cut, punctuation removed); user text never
reaches the query syntax: on SQLite each word is an FTS5 string literal, on PostgreSQL the words go through
``plainto_tsquery``, which has no operators.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, column, func, literal_column, select, table

from backend.search.models import FTS_TABLE, TS_CONFIG, TicketText

_fts = table(FTS_TABLE, column("rowid"))


def fts5_query(words: list[str]) -> str:
    """An FTS5 query matching rows with every word: each one a quoted string, implicitly AND-ed."""
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)


def tickets_with_words(dialect: str, words: list[str]) -> Select[Any]:
    """SELECT of the ids of tickets whose indexed text holds every word of ``words`` (not empty)."""
    if dialect == "sqlite":
        return select(_fts.c.rowid).where(literal_column(FTS_TABLE).op("MATCH")(fts5_query(words)))
    # The expression must be the indexed one, with the configuration inline, for the GIN index to apply.
    vector = func.to_tsvector(literal_column(TS_CONFIG), TicketText.words)
    return select(TicketText.ticket_id).where(
        vector.bool_op("@@")(func.plainto_tsquery(literal_column(TS_CONFIG), " ".join(words))))
