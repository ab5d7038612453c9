"""Imports every table so ``Base.metadata`` is complete (for Alembic and schema checks)."""

# Tables of these packages are registered on Base.metadata by importing their models modules.
import backend.attachments.models  # noqa: F401
import backend.drafts.models  # noqa: F401
import backend.fund.models  # noqa: F401
import backend.knowledge.models  # noqa: F401
import backend.regulator.models  # noqa: F401
import backend.search.models  # noqa: F401
from backend.audit.models import AuditRecord
from backend.auth.models import AuthSession, User, UserRole
from backend.callbacks.models import CallbackRequest
from backend.calls.ivr_models import IvrSessionRecord
from backend.calls.models import AgentStateRecord, BusCursor, CallRecord
from backend.codes.models import CodeItem
from backend.core.db import Base
from backend.directory.models import Claim, Customer, Policy
from backend.orgs.models import Org
from backend.tickets.models import Ticket, TicketCounter
from backend.workflow.models import HandlingRecord, WorkItem

__all__ = ["AgentStateRecord", "AuditRecord", "AuthSession", "Base", "BusCursor", "CallRecord", "CallbackRequest",
           "Claim", "CodeItem", "Customer", "HandlingRecord", "IvrSessionRecord", "Org", "Policy", "Ticket", "TicketCounter", "User",
           "UserRole", "WorkItem"]
