"""The fields each business type adds to a ticket (stored in ``Ticket.details``), one pydantic model per type.

A draft (暂存) may leave required fields out; whatever it does carry must still be valid. Submitting needs
every required field. Codes (cause, sub-cause, line of business) are checked against the code tables.
Each field's ``title`` is its label on the entry form (backend.tickets.forms).
"""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.codes.services import find
from backend.core.problems import Invalid
from backend.directory.identity import ValidPhone, ValidPlate
from backend.tickets.models import TicketType


class _Details(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClaimReportDetails(_Details):
    accident_at: AwareDatetime = Field(title="出险时间")
    accident_place: str = Field(min_length=1, max_length=256, title="出险地点")
    accident_description: str | None = Field(None, max_length=2000, title="出险经过")
    plate: ValidPlate | None = Field(None, title="车牌号码")
    injury: bool = Field(False, title="是否有人伤")
    police_called: bool = Field(False, title="是否已报警")
    drivable: bool | None = Field(None, title="车辆能否行驶")
    reporter_name: str | None = Field(None, max_length=64, title="报案人")
    reporter_phone: ValidPhone | None = Field(None, title="报案人电话")
    relation_to_insured: str | None = Field(None, max_length=32, title="与被保险人关系")


class Respondent(_Details):
    """被投诉人: an org of ours, a staff member, or a sales agent."""

    org_id: int | None = Field(None, title="被投诉机构")
    staff_name: str | None = Field(None, max_length=64, title="被投诉人员姓名")
    sales_agent_code: str | None = Field(None, max_length=32, title="被投诉代理人工号")


class ComplaintDetails(_Details):
    cause: str = Field(max_length=64, title="投诉事由")  # code table complaint_cause
    sub_cause: str | None = Field(None, max_length=64, title="投诉子事由")
    line_of_business: str | None = Field(None, max_length=64, title="险种")
    respondent: Respondent | None = Field(None, title="被投诉人")


class ViolationReportDetails(_Details):
    reported_party: str | None = Field(None, max_length=128, title="被举报人/机构")
    anonymous: bool = Field(False, title="是否匿名举报")


class ConsultationDetails(_Details):
    topic: str | None = Field(None, max_length=128, title="咨询主题")


class UrgingDetails(_Details):
    related_ticket_number: str | None = Field(None, max_length=32, title="被催办的工单号")


class DisputeDetails(_Details):
    disputed_matter: str | None = Field(None, max_length=256, title="异议事项")


class PetitionDetails(_Details):
    petition_source: str | None = Field(None, max_length=64, title="信访来源")


class SuggestionDetails(_Details):
    pass


MODELS: dict[TicketType, type[_Details]] = {
    TicketType.complaint: ComplaintDetails,
    TicketType.violation_report: ViolationReportDetails,
    TicketType.consultation: ConsultationDetails,
    TicketType.claim_report: ClaimReportDetails,
    TicketType.urging: UrgingDetails,
    TicketType.dispute: DisputeDetails,
    TicketType.petition: PetitionDetails,
    TicketType.suggestion: SuggestionDetails,
}

_MESSAGES = {"missing": "缺少必填字段", "extra_forbidden": "不允许的字段", "string_too_long": "内容过长"}


def _invalid(errors: list[dict[str, Any]]) -> Invalid:
    summary = "；".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return Invalid(summary, errors=errors)


async def validated(session: AsyncSession, ticket_type: TicketType, raw: dict[str, Any], *,
                    complete: bool) -> dict[str, Any]:
    """``raw`` checked against its type's model, as JSON-ready data. Incomplete drafts are kept as sent."""
    model = MODELS[ticket_type]
    try:
        details: dict[str, Any] = model.model_validate(raw).model_dump(mode="json", exclude_none=True)
    except ValidationError as exc:
        errors = [{"field": ".".join(["details", *map(str, e["loc"])]), "type": e["type"],
                   "message": _MESSAGES.get(e["type"], e["msg"].removeprefix("Value error, "))}
                  for e in exc.errors() if complete or e["type"] != "missing"]
        if errors:
            raise _invalid(errors) from None
        details = raw
    if ticket_type is TicketType.complaint:
        await _check_complaint_codes(session, details)
    return details


async def _check_complaint_codes(session: AsyncSession, details: dict[str, Any]) -> None:
    errors = []
    cause, sub_cause, line = details.get("cause"), details.get("sub_cause"), details.get("line_of_business")
    item = await find(session, "complaint_cause", cause) if cause is not None else None
    if cause is not None and (item is None or item.parent_code is not None):
        errors.append({"field": "details.cause", "type": "unknown_code", "message": f"投诉事由「{cause}」不存在"})
    if sub_cause is not None:
        sub = await find(session, "complaint_cause", sub_cause)
        if sub is None or sub.parent_code is None or sub.parent_code != cause:
            errors.append({"field": "details.sub_cause", "type": "unknown_code",
                           "message": f"投诉子事由「{sub_cause}」不属于投诉事由「{cause}」"})
    if line is not None and await find(session, "line_of_business", line) is None:
        errors.append({"field": "details.line_of_business", "type": "unknown_code", "message": f"险种「{line}」不存在"})
    if errors:
        raise _invalid(errors)

