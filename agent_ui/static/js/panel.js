/**
 * The customer cards of 客户全景 (identity, policies, claims), filled either from a customer the agent
 * looked up or from a screen pop. Identity and phone numbers are shown as the API returns them: the
 * API masks them per role. Next to each phone number a 拨打 button (for users who can place calls) dials it
 * by reference — the customer and the field — so a masked number is dialled without being revealed.
 */

import { ApiError } from "./api.js";
import { $, el, formatDateTime, formatMoney, shown } from "./dom.js";

const RISK_FLAGS = {
  repeat_complainant: { label: "重复投诉人", tone: "red" },
  regulator_words: { label: "提及监管/媒体", tone: "red" },
  proxy_surrender: { label: "疑似代理退保", tone: "red" },
  vip: { label: "VIP 客户", tone: "orange" },
  elderly: { label: "60 岁以上", tone: "orange" },
};

const LEVELS = { normal: "普通客户", silver: "银卡客户", gold: "金卡客户", vip: "VIP 客户" };
const PHONE_FIELDS = { mobile: "手机", phone: "固定电话" };
const GENDERS = { M: "男", F: "女" };

const ui = {
  identityName: $("identity-heading"),
  identityLevel: $("identity-level"),
  identityFlags: $("identity-flags"),
  identityFields: $("identity-fields"),
  policiesBody: $("policies-body"),
  policiesCount: $("policies-count"),
  claimsBody: $("claims-body"),
  claimsCount: $("claims-count"),
};

export function flagBadge(code, label) {
  const known = RISK_FLAGS[code];
  return el("span", `badge badge-${known ? known.tone : "red"}`, label || (known ? known.label : code));
}

export function flagBadges(flags) {
  const holder = el("span", "flags");
  for (const code of Array.isArray(flags) ? flags : []) {
    holder.append(flagBadge(code));
  }
  return holder;
}

export function levelLabel(level) {
  return LEVELS[level] || shown(level);
}

function fact(label, value, className) {
  const wrap = el("div", "fact");
  wrap.append(el("dt", null, label), el("dd", className || null, shown(value)));
  return wrap;
}

export function cell(text, className) {
  return el("td", className || null, shown(text));
}

export function messageRow(colspan, text, className) {
  const row = el("tr", className || "empty-row");
  const td = el("td", null, text);
  td.colSpan = colspan;
  row.append(td);
  return row;
}

export function statusChip(text, status) {
  const td = el("td");
  td.append(el("span", `chip chip-${String(status || "unknown").replace(/[^a-z_]/g, "")}`, shown(text)));
  return td;
}

/** Fill a table body from a settled result ({status, value} or {status, reason}). */
export function showTable(body, count, result, columns, rowOf, emptyText) {
  if (result.status === "rejected") {
    const err = result.reason;
    const text = err instanceof ApiError && err.status === 403 ? "无权查看" : `加载失败：${err && err.message ? err.message : "请稍后重试"}`;
    body.replaceChildren(messageRow(columns, text, "error-row"));
    if (count) {
      count.textContent = "";
    }
    return;
  }
  const rows = Array.isArray(result.value) ? result.value : [];
  if (count) {
    count.textContent = `（${rows.length}）`;
  }
  body.replaceChildren(...(rows.length ? rows.map(rowOf) : [messageRow(columns, emptyText)]));
}

function policyRow(p) {
  const row = el("tr");
  row.append(
    cell(p.policy_number, "mono"),
    cell(p.line_label),
    cell(p.product_name),
    statusChip(p.status_label, p.status),
    cell(p.effective_date, "nowrap"),
    cell(p.expiry_date, "nowrap"),
    cell(formatMoney(p.premium), "num"),
    cell(p.sales_agent_name),
    cell(p.plate_number, "nowrap"),
  );
  return row;
}

function claimRow(c) {
  const row = el("tr");
  row.append(
    cell(c.claim_number, "mono"),
    cell(c.policy_number, "mono"),
    statusChip(c.status_label, c.status),
    cell(formatDateTime(c.accident_at), "nowrap"),
    cell(c.cause),
    cell(formatMoney(c.amount_paid), "num"),
  );
  return row;
}

let dialler = null; // (request) => Promise<sentence>, set by the call controls when the user can place calls
let identity = null; // the customer the identity card shows

/** Lets the identity card dial (call controls ready), and shows its 拨打 buttons at once. */
export function setDialler(dial) {
  dialler = dial;
  if (identity) {
    showIdentity(identity);
  }
}

function dialStatus() {
  let status = $("dial-status");
  if (!status) {
    status = el("p", "dial-status");
    status.id = "dial-status";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    ui.identityFields.after(status);
  }
  return status;
}

function phoneFact(c, field) {
  const label = PHONE_FIELDS[field];
  const wrap = fact(label, c[field], "mono");
  if (!dialler || !c[field] || c.id === undefined || c.id === null) {
    return wrap;
  }
  const button = el("button", "btn-dial", "拨打");
  button.type = "button";
  button.dataset.field = field;
  button.setAttribute("aria-label", `拨打 ${label}`);
  button.addEventListener("click", async () => {
    const status = dialStatus();
    button.disabled = true;
    status.textContent = `正在发起外呼：${label}…`;
    try {
      status.textContent = await dialler({ body: { ref: { kind: "customer", id: String(c.id), field } },
        label: `${shown(c.name)} ${label} ${c[field]}`, customerId: String(c.id) });
    } finally {
      button.disabled = false;
    }
  });
  wrap.querySelector("dd").append(button);
  return wrap;
}

export function showIdentity(c) {
  identity = c;
  ui.identityName.textContent = shown(c.name);
  ui.identityLevel.textContent = levelLabel(c.level);
  ui.identityFlags.replaceChildren(...(c.risk_flags || []).map((code) => flagBadge(code)));
  ui.identityFields.replaceChildren(
    fact("性别", GENDERS[c.gender] || c.gender),
    fact("出生日期", c.birth_date),
    fact("证件号", c.id_number, "mono"),
    phoneFact(c, "mobile"),
    phoneFact(c, "phone"),
    fact("所属机构", c.org_name),
  );
  const status = $("dial-status");
  if (status) {
    status.textContent = "";
  }
}

export function showPolicies(result) {
  showTable(ui.policiesBody, ui.policiesCount, result, 9, policyRow, "暂无保单");
}

export function showClaims(result) {
  showTable(ui.claimsBody, ui.claimsCount, result, 6, claimRow, "暂无赔案");
}
