/**
 * Chinese words of the ticket page: workflow actions and steps, statuses, deadline states, roles and the
 * labels of each business type's own fields. Codes the server sends that are not listed here are shown as
 * they are, so a new action still appears (in its code) rather than disappearing from the timeline.
 */

import { EMPTY, el, formatDateTime, shown } from "../dom.js";

/** Handling-record actions (backend/workflow/processes.py ``Action``). */
export const ACTIONS = {
  submit: "登记",
  transfer: "转办",
  escalate: "上报",
  return: "退回",
  reply: "答复",
  close: "结案",
  reopen: "重开",
  withdraw: "撤回",
  countersign: "会签",
  sign: "会签意见",
  propose: "拟办",
  approve: "审批同意",
  reject: "审批不同意",
  extend: "延期",
  appraisal: "外部鉴定",
  merge: "合并",
  merged: "被合并",
  supervise: "督办",
  urge: "催办",
  remind: "到期提醒",
  overdue: "超期上报",
};

/** Steps of the processes (processes.yaml) and of the work beside the main line (parallel.py). */
export const STEPS = {
  register: "登记",
  handle: "处理",
  approve: "审批",
  reply: "答复",
  close: "结案",
  countersign: "会签",
  extension_approval: "延期审批",
  decision: "办理时限",
  ticket: "工单",
  closed: "已办结",
};

export const TICKET_STATUS = { draft: "暂存", open: "处理中", closed: "已办结" };
export const ITEM_STATUS = { open: "待办理", waiting: "等待会签", done: "已办理", cancelled: "已取消" };
export const DUE_STATE = { normal: "正常", due_soon: "将超期", overdue: "超期" };
export const PRIORITY = { 1: "督办", 2: "监管转办" };

export const ROLES = {
  agent: "坐席",
  team_lead: "班长",
  complaint_handler: "投诉处理员",
  org_manager: "机构负责人",
  campaign_manager: "外呼活动管理员",
  field_staff: "查勘员",
  auditor: "审计员",
  admin: "系统管理员",
};

export const RISK_FLAGS = {
  repeat: "30 日内重复来电",
  prior_complaint: "曾有投诉",
  prior_violation_report: "曾有举报",
  risk_words: "含风险词",
  agency_surrender: "疑似代理退保",
};

export const REPLY_METHODS = [
  ["phone", "电话"],
  ["sms", "短信"],
  ["letter", "信函"],
  ["in_person", "面谈"],
  ["email", "电子邮件"],
  ["wechat", "微信"],
];

/**
 * The fields each business type keeps in ``details`` (backend/tickets/details.py): label, and how to show
 * the value — a code table to look the code up in, a date-time, a yes/no, or an org.
 */
export const DETAIL_FIELDS = {
  cause: { label: "投诉事由", codes: "complaint_cause" },
  sub_cause: { label: "投诉子事由", codes: "complaint_cause" },
  line_of_business: { label: "险种", codes: "line_of_business" },
  respondent: { label: "被投诉对象", nested: {
    org_id: { label: "被投诉机构", org: true },
    staff_name: { label: "被投诉人员" },
    sales_agent_code: { label: "业务员代码" },
  } },
  accident_at: { label: "出险时间", datetime: true },
  accident_place: { label: "出险地点" },
  accident_description: { label: "出险经过" },
  plate: { label: "车牌号" },
  injury: { label: "是否人伤", bool: true },
  police_called: { label: "是否报警", bool: true },
  drivable: { label: "能否行驶", bool: true },
  reporter_name: { label: "报案人" },
  reporter_phone: { label: "报案人电话", mono: true },
  relation_to_insured: { label: "与被保险人关系" },
  reported_party: { label: "被举报人/机构" },
  anonymous: { label: "匿名举报", bool: true },
  topic: { label: "咨询主题" },
  related_ticket_number: { label: "被催办工单", mono: true },
  disputed_matter: { label: "异议事项" },
  petition_source: { label: "信访来源" },
};

export function actionLabel(action) {
  return ACTIONS[action] || shown(action);
}

export function stepLabel(step) {
  return STEPS[step] || shown(step);
}

export function yesNo(value) {
  if (value === true) {
    return "是";
  }
  return value === false ? "否" : EMPTY;
}

/** 将超期 / 超期 badge for a deadline state, or null when the deadline is not near. */
export function dueBadge(state) {
  if (state === "overdue") {
    return el("span", "badge badge-red", DUE_STATE.overdue);
  }
  if (state === "due_soon") {
    return el("span", "badge badge-orange", DUE_STATE.due_soon);
  }
  return null;
}

/** 督办 / 监管转办 badge for a priority (or a supervised date), or null. */
export function priorityBadge(priority, supervisedAt) {
  if (priority >= 2) {
    return el("span", "badge badge-red", PRIORITY[2]);
  }
  if (priority >= 1 || supervisedAt) {
    return el("span", "badge badge-orange", PRIORITY[1]);
  }
  return null;
}

export function statusChip(status) {
  return el("span", `chip chip-${status}`, TICKET_STATUS[status] || shown(status));
}

/** A deadline as text: "YYYY-MM-DD HH:mm", or — when there is none. */
export function deadline(value) {
  return value ? formatDateTime(value) : EMPTY;
}

/** "YYYY-MM-DDTHH:mm" in Beijing time for a datetime-local input (the page shows Beijing time everywhere). */
export function localInputValue(date = new Date()) {
  return formatDateTime(date).replace(" ", "T");
}

/** A datetime-local value read as Beijing time, as an ISO string with its offset (the API wants aware times). */
export function fromLocalInput(value) {
  return value ? `${value}:00+08:00` : null;
}
