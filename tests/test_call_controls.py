"""Call controls over HTTP on both stacks: click-to-call by number or by reference (a masked number is dialled
without reaching the agent, and the dial is audited), hold/resume, transfers to a number, and ending a
consultation — each one the right command, carried out by a real CommandRunner over a recording AMI stand-in."""

from __future__ import annotations

import json
import random

import pytest
from sqlalchemy import select

from backend.audit.models import AuditRecord
from backend.auth.permissions import Role
from backend.directory.models import Customer
from backend.orgs.scope import Scope
from cti.calls.model import CallModel
from cti.commands import ATXFER_ABORT, HOLD_KEYS, RESUME_KEYS
from tests.conftest import NOW, Stack
from tests.deploy_config import asterisk_conf, dialplan_applications, dialplan_contexts, pattern_matches
from tests.test_cti_commands import FakeSession
from tests.test_telephony_http import _agent, _call, _phone, pbx_node


def _mobile() -> str:
    return "139" + "".join(random.choices("0123456789", k=8))


async def _customer(stack: Stack, org: str, *, mobile: str | None, phone: str | None = None) -> str:
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        row = Customer(name="王五", mobile=mobile, phone=phone, org_id=stack.orgs[org].id, created_at=NOW,
                       updated_at=NOW)
        s.add(row)
        await s.flush()
        return str(row.id)


async def _audits(stack: Stack, username: str) -> list[AuditRecord]:
    async with stack.ctx.db.session(scope=Scope.everything()) as s:
        return list(await s.scalars(select(AuditRecord).where(AuditRecord.username == username,
                                                              AuditRecord.action == "pii.dial")))


@pytest.mark.stack
async def test_given_a_masked_mobile_when_an_agent_dials_the_customer_by_reference_then_it_rings_out_and_never_shows(
        stack: Stack) -> None:
    phone = _phone()
    agent = await _agent(stack, phone=phone)
    mobile = _mobile()
    customer_id = await _customer(stack, "outlet", mobile=mobile)
    shown = await stack.get(agent, f"/api/customers/{customer_id}")
    assert shown.json()["mobile"] == mobile[:3] + "****" + mobile[-4:]  # what the agent sees
    session = FakeSession()
    async with pbx_node(stack, session, CallModel()):
        r = await stack.post(agent, "/api/telephony/dial",
                             json={"ref": {"kind": "customer", "id": customer_id, "field": "mobile"}})
    assert r.status_code == 202, r.text
    assert mobile not in r.text and r.json()["ok"] is True
    action, headers, _ = session.sent[0]
    sent = dict(headers)
    assert action == "Originate" and sent["Channel"] == phone
    assert sent["Exten"] == stack.ctx.settings.dial_prefix + mobile  # the PBX, and only the PBX, gets it
    everything_else = json.dumps([v for k, v in headers if k != "Exten"], ensure_ascii=False)
    assert mobile not in everything_else  # not in the caller id the phone shows and the events repeat
    assert sent["CallerID"].endswith(f"<{phone.rsplit('/', 1)[-1]}>")
    (audit,) = await _audits(stack, agent)
    assert (audit.subject_type, audit.subject_id, audit.detail["field"]) == ("customer", customer_id, "mobile")
    assert audit.detail["command_id"] == r.json()["command_id"] and mobile not in json.dumps(audit.detail)


@pytest.mark.stack
async def test_given_another_branchs_customer_or_an_unknown_one_when_dialled_by_reference_then_404_and_nothing_sent(
        stack: Stack) -> None:
    agent = await _agent(stack, phone=_phone())
    elsewhere = await _customer(stack, "other_outlet", mobile=_mobile())
    session = FakeSession()
    async with pbx_node(stack, session, CallModel()):
        hidden = await stack.post(agent, "/api/telephony/dial",
                                  json={"ref": {"kind": "customer", "id": elsewhere, "field": "mobile"}})
        unknown = await stack.post(agent, "/api/telephony/dial",
                                   json={"ref": {"kind": "customer", "id": "999999999", "field": "mobile"}})
    assert hidden.status_code == 404 and unknown.status_code == 404
    assert hidden.headers["content-type"].startswith("application/problem+json")
    assert session.sent == [] and await _audits(stack, agent) == []


@pytest.mark.stack
async def test_given_a_customer_without_that_number_or_a_bad_request_when_dialling_then_422_says_why(
        stack: Stack) -> None:
    agent = await _agent(stack, phone=_phone())
    customer_id = await _customer(stack, "outlet", mobile=None, phone="021-62345678")
    ref = {"kind": "customer", "id": customer_id, "field": "mobile"}
    session = FakeSession()
    async with pbx_node(stack, session, CallModel()):
        no_mobile = await stack.post(agent, "/api/telephony/dial", json={"ref": ref})
        both = await stack.post(agent, "/api/telephony/dial", json={"ref": ref, "number": "13800000001"})
        neither = await stack.post(agent, "/api/telephony/dial", json={})
        bad_field = await stack.post(agent, "/api/telephony/dial", json={"ref": {**ref, "field": "email"}})
        landline = await stack.post(agent, "/api/telephony/dial", json={"ref": {**ref, "field": "phone"}})
    assert no_mobile.status_code == 422 and no_mobile.json()["detail"] == "该客户没有登记手机号码"
    assert (both.status_code, neither.status_code, bad_field.status_code) == (422, 422, 422)
    assert landline.status_code == 202, landline.text
    assert [dict(h)["Exten"] for _, h, _ in session.sent] == [stack.ctx.settings.dial_prefix + "02162345678"]


@pytest.mark.stack
async def test_given_a_ticket_in_scope_when_its_caller_is_dialled_by_reference_then_the_number_comes_from_the_ticket(
        stack: Stack) -> None:
    agent = await _agent(stack, phone=_phone())
    caller = _mobile()
    # the caller and a different contact number, so the test can tell which field was dialled
    created = await stack.post(agent, "/api/tickets", json={"type": "consultation", "subject": "咨询保单续保",
                                                            "caller_phone": caller, "complainant_phone": _mobile(),
                                                            "details": {}, "submit": True})
    assert created.status_code == 201, created.text
    ticket_id = created.json()["id"]
    outsider = await _agent(stack, org="other_outlet", phone=_phone())
    session = FakeSession()
    async with pbx_node(stack, session, CallModel()):
        r = await stack.post(agent, "/api/telephony/dial",
                             json={"ref": {"kind": "ticket", "id": ticket_id, "field": "caller_phone"}})
        bare = await stack.post(agent, "/api/tickets", json={"type": "consultation", "subject": "无来电号码",
                                                             "details": {}, "submit": True})
        empty = await stack.post(agent, "/api/telephony/dial",
                                 json={"ref": {"kind": "ticket", "id": bare.json()["id"], "field": "complainant_phone"}})
        hidden = await stack.post(outsider, "/api/telephony/dial",
                                  json={"ref": {"kind": "ticket", "id": ticket_id, "field": "caller_phone"}})
    assert r.status_code == 202 and caller not in r.text
    assert dict(session.sent[0][1])["Exten"] == stack.ctx.settings.dial_prefix + caller and len(session.sent) == 1
    assert empty.status_code == 422 and hidden.status_code == 404
    (audit,) = await _audits(stack, agent)
    assert (audit.subject_type, audit.subject_id, audit.detail["field"]) == ("ticket", str(ticket_id), "caller_phone")


@pytest.mark.stack
async def test_given_a_typed_international_number_when_dialled_then_the_dialplan_gets_it_without_a_plus(
        stack: Stack) -> None:
    agent = await _agent(stack, phone=_phone())
    session = FakeSession()
    async with pbx_node(stack, session, CallModel()):
        china = await stack.post(agent, "/api/telephony/dial", json={"number": "+86 138-0000-0001"})
        abroad = await stack.post(agent, "/api/telephony/dial", json={"number": "+85221234567"})
    assert china.status_code == abroad.status_code == 202
    prefix = stack.ctx.settings.dial_prefix
    assert [dict(h)["Exten"] for _, h, _ in session.sent] == [prefix + "13800000001", prefix + "0085221234567"]


@pytest.mark.stack
async def test_given_an_agent_on_a_call_when_holding_and_resuming_then_the_phones_features_are_keyed_on_their_channel(
        stack: Stack) -> None:
    phone = _phone()
    agent = await _agent(stack, phone=phone)
    other = await _agent(stack, phone=_phone())
    session = FakeSession()
    async with pbx_node(stack, session, _call("1796.1", phone)):
        held = await stack.post(agent, "/api/telephony/calls/1796.1/hold", json={"on": True})
        resumed = await stack.post(agent, "/api/telephony/calls/1796.1/hold", json={"on": False})
        theirs = await stack.post(other, "/api/telephony/calls/1796.1/hold", json={"on": True})
        no_body = await stack.post(agent, "/api/telephony/calls/1796.1/hold", json={})
    assert (held.status_code, resumed.status_code) == (200, 200), held.text
    assert theirs.status_code == 409 and no_body.status_code == 422
    channel = f"{phone}-00000002"
    assert session.sent == [("PlayDTMF", [("Channel", channel), ("Digit", d), ("Receive", "true")], None)
                            for d in HOLD_KEYS + RESUME_KEYS]


@pytest.mark.stack
async def test_given_a_transfer_to_an_outside_number_then_it_goes_through_the_transfer_context_with_the_prefix(
        stack: Stack) -> None:
    phone = _phone()
    agent = await _agent(stack, phone=phone)
    session = FakeSession()
    settings = stack.ctx.settings
    async with pbx_node(stack, session, _call("1796.2", phone)):
        blind = await stack.post(agent, "/api/telephony/calls/1796.2/transfer", json={"number": "138-0000-0001"})
        attended = await stack.post(agent, "/api/telephony/calls/1796.2/transfer",
                                    json={"kind": "attended", "number": "13800000001"})
        two = await stack.post(agent, "/api/telephony/calls/1796.2/transfer",
                               json={"number": "13800000001", "queue": "claims"})
        plus = await stack.post(agent, "/api/telephony/calls/1796.2/transfer", json={"number": "+8613800000001"})
        queue_attended = await stack.post(agent, "/api/telephony/calls/1796.2/transfer",
                                          json={"kind": "attended", "queue": "claims"})
    assert blind.status_code == attended.status_code == 200, blind.text
    assert (two.status_code, plus.status_code, queue_attended.status_code) == (422, 422, 422)
    assert "咨询转接只能转给同事分机或外线号码" in queue_attended.text
    exten = settings.dial_prefix + "13800000001"
    assert session.sent[0][:2] == ("Redirect", [("Channel", "PJSIP/operator-00000001"),
                                                ("Context", settings.transfer_context), ("Exten", exten),
                                                ("Priority", "1")])
    assert session.sent[1][:2] == ("Atxfer", [("Channel", f"{phone}-00000002"), ("Exten", exten),
                                              ("Context", settings.transfer_context)])
    assert len(session.sent) == 2


@pytest.mark.stack
async def test_given_a_consultation_when_completed_or_cancelled_then_the_agents_leg_ends_or_the_abort_code_is_keyed(
        stack: Stack) -> None:
    phone = _phone()
    agent = await _agent(stack, phone=phone)
    lead = await _agent(stack, Role.team_lead, phone=_phone())
    session = FakeSession()
    async with pbx_node(stack, session, _call("1796.3", phone)):
        cancel = await stack.post(agent, "/api/telephony/calls/1796.3/transfer/cancel")
        complete = await stack.post(agent, "/api/telephony/calls/1796.3/transfer/complete")
        not_theirs = await stack.post(lead, "/api/telephony/calls/1796.3/transfer/complete")
    assert cancel.status_code == complete.status_code == 200, cancel.text
    assert not_theirs.status_code == 409  # only the consulting agent ends their consultation
    channel = f"{phone}-00000002"
    assert session.sent == [("PlayDTMF", [("Channel", channel), ("Digit", d), ("Receive", "true")], None)
                            for d in ATXFER_ABORT] + [("Hangup", [("Channel", channel), ("Cause", "16")], None)]


def test_given_the_shipped_asterisk_conf_then_it_has_what_hold_transfers_and_click_to_call_rely_on() -> None:
    from backend.core.settings import Settings

    settings, contexts = Settings(), dialplan_contexts()
    features = asterisk_conf("features.conf")
    appmap = features.settings("applicationmap")
    assert appmap["lianluo_hold"].split(",")[0] == HOLD_KEYS and "Event=hold" in appmap["lianluo_hold"]
    assert appmap["lianluo_talk"].split(",")[0] == RESUME_KEYS and "Event=talk" in appmap["lianluo_talk"]
    assert features.settings("general")["atxferabort"] == ATXFER_ABORT
    # every way a call reaches an agent's phone gives that channel the features
    reaching = [app for _, app in dialplan_applications() if app.startswith(("Queue(", "Dial(PJSIP/${EXTEN},"))]
    assert reaching and all("b(agent-features^s^1)" in app for app in reaching), reaching
    setting = [app for context, app in dialplan_applications() if context == "agent-features"]
    assert setting[0] == "Set(DYNAMIC_FEATURES=${AGENT_FEATURES})"
    assert asterisk_conf("extensions.conf").settings("globals")["AGENT_FEATURES"] == "lianluo_hold#lianluo_talk"
    # transfers to a number and click-to-call both find their way out
    number = settings.dial_prefix + "13800000001"
    assert any(pattern_matches(x, number) for x in contexts[settings.transfer_context])
    assert any(pattern_matches(x, number) for x in contexts[settings.dial_context])
    # hold works within the AMI user's rights: PlayDTMF is "call", PJSIPNotify would need "system"
    write = asterisk_conf("manager.conf").settings("cti")["write"].split(",")
    assert "call" in write and "system" not in write
