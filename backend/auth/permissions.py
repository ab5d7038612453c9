"""Roles and what each may do: the one table every permission check reads."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    agent = "agent"  # 坐席
    team_lead = "team_lead"  # 班长
    complaint_handler = "complaint_handler"  # 投诉处理员
    org_manager = "org_manager"  # 机构负责人
    campaign_manager = "campaign_manager"  # 外呼活动管理员
    field_staff = "field_staff"  # 查勘员
    auditor = "auditor"  # 审计/质检
    admin = "admin"  # 系统管理员


ROLE_LABELS: dict[Role, str] = {
    Role.agent: "坐席",
    Role.team_lead: "班长",
    Role.complaint_handler: "投诉处理员",
    Role.org_manager: "机构负责人",
    Role.campaign_manager: "外呼活动管理员",
    Role.field_staff: "查勘员",
    Role.auditor: "审计员",
    Role.admin: "系统管理员",
}


class Permission(enum.StrEnum):
    customer_read = "customer.read"
    customer_write = "customer.write"
    policy_read = "policy.read"
    claim_read = "claim.read"
    pii_unmask = "pii.unmask"  # see C2 personal data (ID, phone, bank account) in clear; every view audited
    org_read = "org.read"
    org_manage = "org.manage"
    user_read = "user.read"
    user_manage = "user.manage"
    audit_read = "audit.read"
    call_read = "call.read"  # call-detail records and agent-state history of the org subtree
    call_control = "call.control"  # own phone: dial, hang up, transfer, record, ready/not ready, queue login
    agent_supervise = "agent.supervise"  # other agents of the subtree: pause, unpause, log in/out of queues
    recording_listen = "recording.listen"  # play call recordings; every play audited
    ticket_read = "ticket.read"  # tickets of the org subtree
    ticket_write = "ticket.write"  # register, edit and submit tickets
    ticket_handle = "ticket.handle"  # act on work items assigned to one's org, role or self (workflow)
    ticket_supervise = "ticket.supervise"  # 督办: mark a subtree's ticket supervised (raises priority, notifies)
    ticket_approve = "ticket.approve"  # 审批: approve extensions beyond 30 days, proposed decisions, fund usage
    ticket_import = "ticket.import"  # 12378 import of regulator-transferred complaints, and export of results
    kb_read = "kb.read"  # search and read published knowledge-base articles
    kb_write = "kb.write"  # draft articles and submit them for review (handlers share experience)
    kb_review = "kb.review"  # review: publish or send back submitted articles, archive published ones
    fund_read = "fund.read"  # complaint fund (投诉基金) accounts, balances and usage of the org subtree
    fund_manage = "fund.manage"  # apply for fund usage linked to a ticket, record settlement


P = Permission
_READ_DIRECTORY = {P.customer_read, P.policy_read, P.claim_read, P.org_read}
_TICKETS = {P.ticket_read, P.ticket_write, P.kb_read}
_HANDLING = {P.ticket_handle, P.kb_write, P.fund_read}
_MANAGING = {P.ticket_supervise, P.ticket_approve, P.kb_review, P.fund_manage, P.ticket_import}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.agent: frozenset(_READ_DIRECTORY | _TICKETS | {P.customer_write, P.call_control}),
    Role.team_lead: frozenset(_READ_DIRECTORY | _TICKETS | {P.customer_write, P.user_read, P.call_control, P.call_read,
                                                 P.agent_supervise, P.recording_listen} | _HANDLING),
    # Handlers must reach and identify complainants, so they see contact and identity data.
    Role.complaint_handler: frozenset(_READ_DIRECTORY | _TICKETS | _HANDLING | {P.pii_unmask, P.fund_manage,
                                                                               P.ticket_import}),
    Role.org_manager: frozenset(_READ_DIRECTORY | _TICKETS | _HANDLING | _MANAGING | {P.user_read, P.call_read}),
    Role.campaign_manager: frozenset(_READ_DIRECTORY | {P.call_read}),
    # Surveyors work claims; the customer's file is not theirs to browse.
    Role.field_staff: frozenset({P.claim_read, P.org_read}),
    # Quality inspection (质检) listens to recordings.
    Role.auditor: frozenset(_READ_DIRECTORY | {P.ticket_read, P.kb_read, P.fund_read, P.pii_unmask, P.user_read, P.audit_read, P.call_read,
                                               P.recording_listen}),
    # Admins run the system; business PII stays masked for them (least privilege).
    Role.admin: frozenset(_READ_DIRECTORY | {P.customer_write, P.org_manage, P.user_read, P.user_manage, P.audit_read}),
}


def permissions_of(roles: list[Role] | set[Role] | frozenset[Role]) -> frozenset[Permission]:
    out: set[Permission] = set()
    for role in roles:
        out |= ROLE_PERMISSIONS[Role(role)]
    return frozenset(out)
