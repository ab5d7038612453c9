"""Tables and indexes of search: the segmented text of each ticket, and the indexes the search queries walk.

``TicketText`` is not org data of its own: it is only ever read joined to its ``Ticket``, whose org scope then
applies (backend.search.tickets). It is deliberately not ``OrgScoped``: a ticket changes hands (转办 moves
``Ticket.org_id`` in the workflow), and a copied org id would have to follow every such move.

The full-text index itself lives outside the models, one per database, created by migration 0009:
- SQLite: the FTS5 table ``ticket_fts`` (``unicode61``) over ``ticket_texts.words`` as external content,
  kept in step by triggers on ``ticket_texts``, so whoever writes a ``TicketText`` row updates it;
- PostgreSQL: the GIN expression index ``ix_ticket_texts_words_tsv`` on ``to_tsvector('simple', words)``.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId
from backend.tickets.models import Ticket
from backend.workflow.models import HandlingRecord

FTS_TABLE = "ticket_fts"  # SQLite; FTS5 adds its own ticket_fts_* shadow tables
TSV_INDEX = "ix_ticket_texts_words_tsv"  # PostgreSQL
TS_CONFIG = "'simple'"  # words are pre-segmented: no stemming, no stop words


class TicketText(Base):
    """The searchable words of one ticket: jieba's segmentation of its 事由, 诉求 and free-text details."""

    __tablename__ = "ticket_texts"

    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    words: Mapped[str] = mapped_column(Text)


# Indexes on other packages' tables that only search needs: the keyset orders (sort column, id) and the exact
# filters that have no index of their own. Declared here so the search package owns what it depends on.
SEARCH_INDEXES = (
    Index("ix_tickets_received_at_id", Ticket.received_at, Ticket.id),
    Index("ix_tickets_decision_due_at_id", Ticket.decision_due_at, Ticket.id),
    Index("ix_tickets_complainant_phone", Ticket.complainant_phone),
    Index("ix_tickets_policy_number", Ticket.policy_number),
    Index("ix_tickets_customer_id", Ticket.customer_id),
    Index("ix_handling_records_acted_at_id", HandlingRecord.acted_at, HandlingRecord.id),
    Index("ix_handling_records_action_acted_at", HandlingRecord.action, HandlingRecord.acted_at),
)


def is_fulltext_machinery(name: str | None, type_: str) -> bool:
    """Whether a reflected schema object is the database-specific full-text index (not described by the
    models): for schema comparison and autogenerate, which would otherwise propose dropping it."""
    if name is None:
        return False
    return (type_ == "table" and name.startswith(FTS_TABLE)) or (type_ == "index" and name == TSV_INDEX)
