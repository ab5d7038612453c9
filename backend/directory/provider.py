"""The directory interface. Lianluo ships two adapters: its own tables (``SqlDirectory``) and the
insurer's policy/claims systems over HTTP (``HttpDirectory``). Both apply the caller's org scope."""

from __future__ import annotations

from typing import Protocol

from backend.directory.records import (
    ClaimRecord,
    CustomerIn,
    CustomerPatch,
    CustomerQuery,
    CustomerRecord,
    PolicyRecord,
)


class CustomerDirectory(Protocol):
    async def search(self, query: CustomerQuery) -> list[CustomerRecord]: ...

    async def customer(self, customer_id: str) -> CustomerRecord:
        """Raises NotFound when missing or outside the caller's scope."""

    async def policies_of(self, customer_id: str) -> list[PolicyRecord]: ...

    async def claims_of(self, customer_id: str) -> list[ClaimRecord]: ...

    async def policy(self, policy_number: str) -> PolicyRecord: ...

    async def claim(self, claim_number: str) -> ClaimRecord: ...

    async def add_customer(self, data: CustomerIn) -> CustomerRecord: ...

    async def update_customer(self, customer_id: str, patch: CustomerPatch) -> CustomerRecord: ...
