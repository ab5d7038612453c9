"""Ticket entry forms: every type listed in code-table order, fields derived from the validating models
(kinds, required on submission, lengths, code tables and their cascade), Chinese labels, and who may read them.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from pydantic import BaseModel

from backend.auth.permissions import Role
from backend.tickets.details import MODELS
from backend.tickets.forms import type_fields
from backend.tickets.models import TicketType
from tests.conftest import Stack

CHINESE = re.compile(r"[\u4e00-\u9fff]")
BUSINESS_TYPES = [("complaint", "消费投诉"), ("violation_report", "举报"), ("consultation", "咨询"),
                  ("claim_report", "报案"), ("urging", "业务催办"), ("dispute", "异议"), ("petition", "信访"),
                  ("suggestion", "意见建议")]
# A valid value for each required field a form may have, by name or kind.
SAMPLES: dict[str, Any] = {"subject": "客户反映理赔迟迟未到账", "details.cause": "claims",
                           "details.accident_at": "2026-11-23T08:30:00+08:00", "text": "上海市浦东新区世纪大道 100 号"}


async def user(stack: Stack, role: Role, org: str = "outlet") -> str:
    return await stack.add_user(f"tf_{role.value}_{uuid.uuid4().hex[:8]}", role, stack.orgs[org])


async def forms(stack: Stack, who: str) -> dict[str, dict[str, Any]]:
    r = await stack.get(who, "/api/tickets/forms")
    assert r.status_code == 200, r.text
    return {f["type"]: f for f in r.json()}


def by_name(form: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in form["fields"]}


async def test_given_an_agent_when_reading_forms_then_every_type_in_code_table_order_with_its_label(
        stack: Stack) -> None:
    r = await stack.get(await user(stack, Role.agent), "/api/tickets/forms")
    assert r.status_code == 200, r.text
    assert [(f["type"], f["label"]) for f in r.json()] == BUSINESS_TYPES
    assert {t for t, _ in BUSINESS_TYPES} == set(TicketType)
    for form in r.json():
        names = [f["name"] for f in form["fields"]]
        assert names[:7] == ["subject", "demand", "complainant_name", "complainant_phone", "complainant_id_number",
                             "policy_number", "channel"], form["type"]
        assert len(names) == len(set(names))
        assert {f["group"] for f in form["fields"][:7]} == {"common"}
        assert all(f["group"] == "details" and f["name"].startswith("details.") for f in form["fields"][7:])


async def test_given_the_complaint_form_then_cause_cascades_to_sub_cause_and_respondent_is_flattened(
        stack: Stack) -> None:
    fields = by_name((await forms(stack, await user(stack, Role.agent)))["complaint"])
    cause, sub = fields["details.cause"], fields["details.sub_cause"]
    assert (cause["kind"], cause["code_table"], cause["parent"], cause["required"]) == \
        ("code", "complaint_cause", None, True)
    assert (sub["kind"], sub["code_table"], sub["parent"], sub["required"]) == \
        ("code", "complaint_cause", "details.cause", False)
    line = fields["details.line_of_business"]
    assert (line["kind"], line["code_table"], line["parent"]) == ("code", "line_of_business", None)
    assert fields["details.respondent.org_id"]["kind"] == "int"
    assert fields["details.respondent.staff_name"] == {
        "name": "details.respondent.staff_name", "label": "被投诉人员姓名", "kind": "text", "required": False,
        "max_length": 64, "code_table": None, "parent": None, "group": "details"}
    assert "details.respondent" not in fields


async def test_given_the_common_fields_then_kinds_labels_and_lengths_follow_ticket_fields(stack: Stack) -> None:
    fields = by_name((await forms(stack, await user(stack, Role.agent)))["consultation"])
    expected = {"subject": ("事由", "textarea", True, 2000), "demand": ("诉求", "textarea", False, 2000),
                "complainant_name": ("来电人/投诉人姓名", "text", False, 64),
                "complainant_phone": ("联系电话", "phone", False, 32),
                "complainant_id_number": ("证件号码", "id_number", False, 32),
                "policy_number": ("保单号", "text", False, 32), "channel": ("渠道", "code", False, 32)}
    assert {n: (f["label"], f["kind"], f["required"], f["max_length"]) for n, f in fields.items()
            if f["group"] == "common"} == expected
    assert fields["channel"]["code_table"] == "channel"


async def test_given_the_claim_report_form_then_accident_time_is_a_required_datetime_and_plate_a_plate(
        stack: Stack) -> None:
    fields = by_name((await forms(stack, await user(stack, Role.agent)))["claim_report"])
    kinds = {n: (f["kind"], f["required"]) for n, f in fields.items()}
    assert kinds["details.accident_at"] == ("datetime", True)
    assert kinds["details.accident_place"] == ("text", True)
    assert kinds["details.plate"] == ("plate", False)
    assert kinds["details.accident_description"] == ("textarea", False)
    assert kinds["details.injury"] == ("bool", False)
    assert kinds["details.drivable"] == ("tristate", False)
    assert kinds["details.reporter_phone"] == ("phone", False)
    assert fields["details.plate"]["max_length"] == 16


async def test_given_every_form_then_each_label_is_non_empty_chinese(stack: Stack) -> None:
    for form in (await forms(stack, await user(stack, Role.agent))).values():
        assert CHINESE.search(form["label"]), form["type"]
        for field in form["fields"]:
            assert CHINESE.search(field["label"]), (form["type"], field["name"])


def _labelless(model: type[BaseModel], prefix: str = "") -> list[str]:
    missing = []
    for name, info in model.model_fields.items():
        if not info.title:
            missing.append(f"{model.__name__}.{prefix}{name}")
        nested = next((a for a in getattr(info.annotation, "__args__", (info.annotation,))
                       if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if nested is not None:
            missing.extend(_labelless(nested, f"{prefix}{name}."))
    return missing


def test_given_the_details_models_then_every_field_has_a_title_to_label_it() -> None:
    assert [m for model in MODELS.values() for m in _labelless(model)] == []


@pytest.mark.parametrize("ticket_type", list(TicketType))
async def test_given_a_form_when_only_its_required_fields_are_sent_then_submitted_and_each_one_is_needed(
        stack: Stack, ticket_type: TicketType) -> None:
    """``required`` says exactly what submission needs: all of them suffice, and each one is missing without."""
    agent = await user(stack, Role.agent)
    required = [f for f in type_fields(ticket_type) if f.required]

    def body(leave_out: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"type": ticket_type.value, "submit": True, "details": {}}
        for field in required:
            if field.name != leave_out:
                value = SAMPLES.get(field.name, SAMPLES[field.kind] if field.kind in SAMPLES else None)
                assert value is not None, f"no sample for {field.name} ({field.kind})"
                *parents, last = field.name.split(".")
                target = out
                for part in parents:
                    target = target.setdefault(part, {})
                target[last] = value
        return out

    r = await stack.post(agent, "/api/tickets", json=body())
    assert r.status_code == 201, r.text
    for field in required:
        r = await stack.post(agent, "/api/tickets", json=body(leave_out=field.name))
        assert r.status_code == 422, (field.name, r.text)
        assert field.name in {e["field"] for e in r.json()["errors"]}, r.text


async def test_given_roles_without_ticket_registration_when_reading_forms_then_403(stack: Stack) -> None:
    for role in (Role.auditor, Role.field_staff, Role.campaign_manager):
        r = await stack.get(await user(stack, role, "branch"), "/api/tickets/forms")
        assert r.status_code == 403, (role, r.text)
    assert (await stack.get(await user(stack, Role.complaint_handler), "/api/tickets/forms")).status_code == 200
    assert (await stack.client.get("/api/tickets/forms")).status_code == 401
