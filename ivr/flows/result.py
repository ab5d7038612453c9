"""What a flow run leaves behind: the outcome the dialplan acts on and every step taken, for the call
record (``FlowResult.to_dict()`` is plain JSON)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

Outcome = Literal["queued", "transferred", "callback", "self_service", "hung_up", "caller_hung_up", "error"]


class Step(BaseModel):
    node: str
    type: str
    started_ms: int  # from the start of the flow
    duration_ms: int = 0
    digits: list[str | None] = []  # what the caller entered at each try, None for no input; ID digits masked
    lookup: str | None = None
    found: bool | None = None
    detail: str = ""


class FlowResult(BaseModel):
    flow: str
    call_id: str
    started_at: datetime
    outcome: Outcome
    queue: str | None = None
    priority: int | None = None
    variables: dict[str, str] = {}  # channel variables the flow set, in the order set
    path: list[Step] = []
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
