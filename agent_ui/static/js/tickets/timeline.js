/**
 * 处理轨迹: a ticket's handling records (GET /api/tickets/{id}/timeline) as a vertical timeline, oldest first —
 * what was done, at which step, by whom at which org, when it was received and acted on, the opinion, and the
 * facts the action recorded (reply, extension, appraisal, merge, countersign units, withdrawal).
 */

import { el, formatDateTime, shown } from "../dom.js";
import { REPLY_METHODS, actionLabel, stepLabel, yesNo } from "./labels.js";

const METHODS = Object.fromEntries(REPLY_METHODS);
const SYSTEM_ACTIONS = new Set(["remind", "overdue"]);
// Records not made at a step of the process (registration, actions on the ticket as a whole).
const STEPLESS = new Set(["register", "ticket", "closed"]);

function dateOnly(value) {
  return value ? String(value).slice(0, 10) : "—";
}

/** The facts an action recorded in ``details``, as short Chinese lines. */
function facts(record, context) {
  const d = record.details || {};
  switch (record.action) {
    case "reply":
      return [`答复方式：${METHODS[d.method] || shown(d.method)}　告知时间：${formatDateTime(d.told_at)}`,
        d.result ? `处理结果：${d.result}` : null,
        d.satisfied === undefined || d.satisfied === null ? null : `是否满足诉求：${yesNo(d.satisfied)}`];
    case "extend":
      return [`办理时限 ${shown(d.from_days)} 日 → ${shown(d.to_days)} 日`
        + (d.approval === "requested" ? "（已提交上级审批）" : "")
        + (d.due_at ? `，新时限 ${formatDateTime(d.due_at)}` : "")];
    case "approve":
    case "reject":
      return d.to_days ? [`延期至 ${d.to_days} 日` + (d.due_at ? `，新时限 ${formatDateTime(d.due_at)}` : "")] : [];
    case "appraisal":
      return [`鉴定期 ${dateOnly(d.from)} 至 ${dateOnly(d.to)}（${shown(d.days)} 日不计入时限）`
        + (d.due_at ? `，新时限 ${formatDateTime(d.due_at)}` : "")];
    case "merge":
      return [`合并至工单 ${shown(d.into_number)}`];
    case "merged":
      return [`工单 ${shown(d.from_number)} 已合并至本工单`];
    case "countersign":
      return [`会签单位：${(d.org_ids || []).map((id) => context.orgName(id)).join("、") || "—"}`
        + (d.mode === "any" ? "（任一单位会签即可）" : "（全部单位会签）")];
    case "withdraw":
      return [`撤回受理时间：${formatDateTime(d.withdrawn_at)}`];
    case "reopen":
      return d.due_at ? [`新办结时限 ${formatDateTime(d.due_at)}`] : [];
    case "remind":
    case "overdue":
      return d.due_at ? [`时限 ${formatDateTime(d.due_at)}`] : [];
    default:
      return [];
  }
}

function entry(record, context) {
  const item = el("li", "tl-item");
  item.dataset.action = record.action;
  if (SYSTEM_ACTIONS.has(record.action)) {
    item.classList.add("tl-system");
  }
  const head = el("div", "tl-head");
  const time = el("time", "tl-time mono", formatDateTime(record.acted_at));
  time.dateTime = String(record.acted_at || "");
  head.append(el("strong", "tl-action", actionLabel(record.action)));
  if (!STEPLESS.has(record.step)) {
    head.append(el("span", "tl-step", `${stepLabel(record.step)}环节`));
  }
  head.append(time);

  const actor = record.actor_user_id === null || record.actor_user_id === undefined
    ? "系统" : shown(record.actor_name || `用户#${record.actor_user_id}`);
  let who = `${actor} · ${record.actor_org_name || context.orgName(record.actor_org_id)}`;
  const target = record.target_org_id !== null && record.target_org_id !== undefined
    && record.target_org_id !== record.actor_org_id;
  if (target) {
    who += ` → ${record.target_org_name || context.orgName(record.target_org_id)}`;
  }
  if (record.target_user_id) {
    who += `（指定人员#${record.target_user_id}）`;
  }
  item.append(head, el("p", "tl-who", who));
  // When the work came in matters only if it was not acted on in the same minute.
  if (record.action !== "submit" && record.received_at
      && formatDateTime(record.received_at) !== formatDateTime(record.acted_at)) {
    item.append(el("p", "tl-received", `接收于 ${formatDateTime(record.received_at)}`));
  }
  if (record.opinion) {
    const opinion = el("p", "tl-opinion");
    opinion.append(el("span", "tl-label", "意见："), document.createTextNode(record.opinion));
    item.append(opinion);
  }
  for (const line of facts(record, context).filter(Boolean)) {
    item.append(el("p", "tl-fact", line));
  }
  const files = Array.isArray(record.attachment_ids) ? record.attachment_ids.length : 0;
  if (files) {
    item.append(el("p", "tl-fact", `附件 ${files} 个`));
  }
  return item;
}

/** Fills ``list`` (an <ol>) with the records; ``count`` gets the number. */
export function showTimeline(list, count, records, context) {
  list.replaceChildren(...records.map((r) => entry(r, context)));
  count.textContent = `（${records.length} 条）`;
  if (!records.length) {
    list.replaceChildren(el("li", "tl-empty", "暂无处理记录。"));
  }
}
