/**
 * The agent console: who is signed in, customer search, and the customer overview (客户全景).
 *
 * Every piece of data reaches the page through textContent or createElement, never as markup:
 * names, addresses and ticket text are typed by callers and must not become HTML. Identity numbers
 * and phone numbers are shown exactly as the API returns them; the API masks them per role.
 */

import { ApiError, api, goToLogin, segment } from "./api.js";

const SEARCH_FIELDS = {
  phone: { label: "来电号码", hint: "输入来电号码，如 13800138000 或 010-12345678", inputmode: "tel" },
  id_number: { label: "证件号", hint: "输入 18 位居民身份证号码", inputmode: "text" },
  policy_number: { label: "保单号", hint: "输入完整保单号", inputmode: "text" },
  plate_number: { label: "车牌号", hint: "输入车牌号，如 京A12345", inputmode: "text" },
  name: { label: "姓名", hint: "输入客户姓名，至少 2 个字", inputmode: "text" },
};

const RISK_FLAGS = {
  repeat_complainant: { label: "重复投诉人", tone: "red" },
  regulator_words: { label: "提及监管/媒体", tone: "red" },
  proxy_surrender: { label: "疑似代理退保", tone: "red" },
  vip: { label: "VIP 客户", tone: "orange" },
  elderly: { label: "60 岁以上", tone: "orange" },
};

const LEVELS = { normal: "普通客户", silver: "银卡客户", gold: "金卡客户", vip: "VIP 客户" };
const GENDERS = { M: "男", F: "女" };
const CUSTOMER_READ = "customer.read";
const EMPTY = "—";

const $ = (id) => document.getElementById(id);

const ui = {
  userName: $("user-name"),
  userOrg: $("user-org"),
  userRoles: $("user-roles"),
  logout: $("logout"),
  form: $("search-form"),
  field: $("search-field"),
  value: $("search-value"),
  submit: $("search-submit"),
  hint: $("search-hint"),
  error: $("search-error"),
  denied: $("access-denied"),
  deniedDetail: $("access-denied-detail"),
  status: $("search-status"),
  results: $("results"),
  panel: $("panel"),
  panelHeading: $("panel-heading"),
  panelStatus: $("panel-status"),
  panelBody: $("panel-body"),
  identityName: $("identity-heading"),
  identityLevel: $("identity-level"),
  identityFlags: $("identity-flags"),
  identityFields: $("identity-fields"),
  policiesBody: $("policies-body"),
  policiesCount: $("policies-count"),
  claimsBody: $("claims-body"),
  claimsCount: $("claims-count"),
};

let searchController = null;
let detailRequest = 0;
let loggingOut = false;

// --- small DOM helpers (text only)

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined && text !== null) {
    node.textContent = String(text);
  }
  return node;
}

function shown(value) {
  return value === undefined || value === null || value === "" ? EMPTY : String(value);
}

function flagBadge(code) {
  const known = RISK_FLAGS[code];
  return el("span", `badge badge-${known ? known.tone : "neutral"}`, known ? known.label : code);
}

function flagBadges(flags) {
  const holder = el("span", "flags");
  for (const code of Array.isArray(flags) ? flags : []) {
    holder.append(flagBadge(code));
  }
  return holder;
}

function levelLabel(level) {
  return LEVELS[level] || shown(level);
}

// --- formatting

const money = new Intl.NumberFormat("zh-CN", { style: "currency", currency: "CNY", minimumFractionDigits: 2 });

function formatMoney(value) {
  if (value === undefined || value === null || value === "") {
    return EMPTY;
  }
  const number = Number(value);
  return Number.isFinite(number) ? money.format(number) : String(value);
}

const dateTimeParts = new Intl.DateTimeFormat("zh-CN", {
  timeZone: "Asia/Shanghai",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
});

function formatDateTime(value) {
  if (!value) {
    return EMPTY;
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    return String(value);
  }
  const part = Object.fromEntries(dateTimeParts.formatToParts(date).map((p) => [p.type, p.value]));
  return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}`;
}

// --- who am I, logout, shortcuts

function canReadCustomers(me) {
  return Array.isArray(me.permissions) && me.permissions.includes(CUSTOMER_READ);
}

function showUser(me) {
  ui.userName.textContent = shown(me.display_name || me.username);
  ui.userOrg.textContent = shown(me.org_name);
  ui.userRoles.replaceChildren(...(me.role_labels || []).map((label) => el("span", "role", label)));
}

function denyCustomerAccess(detail) {
  ui.form.hidden = true;
  ui.status.textContent = "";
  ui.results.replaceChildren();
  if (detail) {
    ui.deniedDetail.textContent = detail;
  }
  ui.denied.hidden = false;
  ui.panelBody.hidden = true;
  ui.panelStatus.classList.remove("sr-only");
  ui.panelStatus.textContent = "您的角色不能查看客户全景。";
}

async function logout() {
  if (loggingOut) {
    return;
  }
  loggingOut = true;
  ui.logout.disabled = true;
  ui.logout.textContent = "正在退出…";
  try {
    await api("/api/auth/logout", { method: "POST", redirectOn401: false });
  } catch {
    // The session is gone either way; the login page is the right place to be.
  }
  goToLogin();
}

function focusSearch() {
  if (ui.form.hidden) {
    return;
  }
  ui.value.focus();
  ui.value.select();
}

function onShortcut(event) {
  if (!event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) {
    return;
  }
  if (event.code === "KeyS") {
    event.preventDefault();
    focusSearch();
  } else if (event.code === "KeyL") {
    event.preventDefault();
    logout();
  }
}

// --- search

function setFieldError(text) {
  ui.error.textContent = text;
  if (text) {
    ui.value.setAttribute("aria-invalid", "true");
  } else {
    ui.value.removeAttribute("aria-invalid");
  }
}

function updateHint() {
  const spec = SEARCH_FIELDS[ui.field.value] || SEARCH_FIELDS.phone;
  ui.hint.textContent = spec.hint;
  ui.value.setAttribute("inputmode", spec.inputmode);
  setFieldError("");
}

function resultItem(customer) {
  const item = el("li", "result-item");
  const button = el("button", "result");
  button.type = "button";
  button.dataset.customerId = customer.id;

  const top = el("span", "result-top");
  top.append(el("span", "result-name", shown(customer.name)), el("span", "level", levelLabel(customer.level)));
  const meta = el("span", "result-meta");
  meta.append(el("span", "result-phone", shown(customer.mobile || customer.phone)),
    el("span", "result-org", shown(customer.org_name)));
  button.append(top, meta);
  if (Array.isArray(customer.risk_flags) && customer.risk_flags.length) {
    button.append(flagBadges(customer.risk_flags));
  }
  button.addEventListener("click", () => selectCustomer(customer, button));
  item.append(button);
  return item;
}

function showResults(customers) {
  ui.results.replaceChildren(...customers.map(resultItem));
  if (!customers.length) {
    ui.status.textContent = "未找到客户";
    ui.status.classList.add("status-empty");
    return;
  }
  ui.status.classList.remove("status-empty");
  ui.status.textContent = `找到 ${customers.length} 位客户，按 ↓ 进入列表，Enter 打开`;
  if (customers.length === 1) {
    const only = ui.results.querySelector("button.result");
    selectCustomer(customers[0], only);
  }
}

function validationMessage(err, field) {
  const own = err.messagesFor(field);
  if (own.length) {
    return own.join("；");
  }
  const any = err.errors.map((e) => String(e.message || "")).filter(Boolean);
  return any.length ? any.join("；") : err.detail;
}

function resetPanel() {
  detailRequest += 1;
  ui.panel.setAttribute("aria-busy", "false");
  ui.panelBody.hidden = true;
  ui.panelStatus.classList.remove("sr-only");
  ui.panelStatus.textContent = "请在左侧查询并选择客户。";
}

async function search(event) {
  event.preventDefault();
  const field = ui.field.value;
  const value = ui.value.value.trim();
  setFieldError("");
  if (!value) {
    setFieldError(`请输入${(SEARCH_FIELDS[field] || SEARCH_FIELDS.phone).label}`);
    ui.value.focus();
    return;
  }
  if (searchController) {
    searchController.abort();
  }
  const controller = new AbortController();
  searchController = controller;
  resetPanel();
  ui.status.classList.remove("status-empty");
  ui.status.textContent = "正在查询…";
  ui.submit.disabled = true;
  ui.results.setAttribute("aria-busy", "true");
  try {
    const customers = await api("/api/customers", { query: { [field]: value }, signal: controller.signal });
    showResults(Array.isArray(customers) ? customers : []);
  } catch (err) {
    if (err && err.name === "AbortError") {
      return;
    }
    ui.results.replaceChildren();
    if (!(err instanceof ApiError)) {
      ui.status.textContent = "查询失败，请稍后重试。";
    } else if (err.status === 422) {
      ui.status.textContent = "";
      setFieldError(validationMessage(err, field));
      ui.value.focus();
    } else if (err.status === 403) {
      denyCustomerAccess(err.detail);
    } else if (err.status !== 401) {
      ui.status.textContent = err.detail;
    }
  } finally {
    if (searchController === controller) {
      searchController = null;
      ui.submit.disabled = false;
      ui.results.removeAttribute("aria-busy");
    }
  }
}

function enterResults(event) {
  if (event.key !== "ArrowDown" || event.altKey || event.ctrlKey || event.metaKey) {
    return;
  }
  const first = ui.results.querySelector("button.result");
  if (first) {
    event.preventDefault();
    first.focus();
  }
}

function moveInResults(event) {
  if (event.key !== "ArrowDown" && event.key !== "ArrowUp" && event.key !== "Home" && event.key !== "End") {
    return;
  }
  const buttons = [...ui.results.querySelectorAll("button.result")];
  const at = buttons.indexOf(document.activeElement);
  if (at < 0 || !buttons.length) {
    return;
  }
  event.preventDefault();
  const next = {
    ArrowDown: Math.min(at + 1, buttons.length - 1),
    ArrowUp: Math.max(at - 1, 0),
    Home: 0,
    End: buttons.length - 1,
  }[event.key];
  buttons[next].focus();
}

// --- customer overview

function fact(label, value, className) {
  const wrap = el("div", "fact");
  wrap.append(el("dt", null, label), el("dd", className || null, shown(value)));
  return wrap;
}

function showIdentity(c) {
  ui.identityName.textContent = shown(c.name);
  ui.identityLevel.textContent = levelLabel(c.level);
  ui.identityFlags.replaceChildren(...(c.risk_flags || []).map(flagBadge));
  ui.identityFields.replaceChildren(
    fact("性别", GENDERS[c.gender] || c.gender),
    fact("出生日期", c.birth_date),
    fact("证件号", c.id_number, "mono"),
    fact("手机", c.mobile, "mono"),
    fact("固定电话", c.phone, "mono"),
    fact("所属机构", c.org_name),
  );
}

function cell(text, className) {
  return el("td", className || null, shown(text));
}

function messageRow(colspan, text, className) {
  const row = el("tr", className || "empty-row");
  const td = el("td", null, text);
  td.colSpan = colspan;
  row.append(td);
  return row;
}

function statusChip(text, status) {
  const td = el("td");
  td.append(el("span", `chip chip-${String(status || "unknown").replace(/[^a-z_]/g, "")}`, shown(text)));
  return td;
}

function showTable(body, count, result, columns, rowOf, emptyText) {
  if (result.status === "rejected") {
    const err = result.reason;
    const text = err instanceof ApiError && err.status === 403 ? "无权查看" : `加载失败：${err && err.message ? err.message : "请稍后重试"}`;
    body.replaceChildren(messageRow(columns, text, "error-row"));
    count.textContent = "";
    return;
  }
  const rows = Array.isArray(result.value) ? result.value : [];
  count.textContent = `（${rows.length}）`;
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

function markSelected(button) {
  for (const other of ui.results.querySelectorAll("button.result[aria-current]")) {
    other.removeAttribute("aria-current");
  }
  if (button) {
    button.setAttribute("aria-current", "true");
  }
}

async function selectCustomer(customer, button) {
  const request = ++detailRequest;
  markSelected(button);
  ui.panel.setAttribute("aria-busy", "true");
  ui.panelStatus.textContent = `正在加载 ${shown(customer.name)} 的客户全景…`;
  ui.panelStatus.classList.remove("sr-only");
  const base = `/api/customers/${segment(customer.id)}`;
  const [detail, policies, claims] = await Promise.allSettled([
    api(base), api(`${base}/policies`), api(`${base}/claims`),
  ]);
  if (request !== detailRequest) {
    return;
  }
  ui.panel.setAttribute("aria-busy", "false");
  if (detail.status === "rejected") {
    const err = detail.reason;
    ui.panelBody.hidden = true;
    ui.panelStatus.classList.remove("sr-only");
    if (err instanceof ApiError && err.status === 403) {
      denyCustomerAccess(err.detail);
    } else if (!(err instanceof ApiError && err.status === 401)) {
      ui.panelStatus.textContent = err instanceof ApiError ? err.detail : "客户资料加载失败，请稍后重试。";
    }
    return;
  }
  showIdentity(detail.value);
  showTable(ui.policiesBody, ui.policiesCount, policies, 9, policyRow, "暂无保单");
  showTable(ui.claimsBody, ui.claimsCount, claims, 6, claimRow, "暂无赔案");
  ui.panelStatus.textContent = `已显示 ${shown(detail.value.name)} 的客户全景`;
  ui.panelStatus.classList.add("sr-only");
  ui.panelBody.hidden = false;
}

// --- start

async function start() {
  document.addEventListener("keydown", onShortcut);
  ui.logout.addEventListener("click", logout);
  ui.form.addEventListener("submit", search);
  ui.field.addEventListener("change", updateHint);
  ui.value.addEventListener("input", () => setFieldError(""));
  ui.value.addEventListener("keydown", enterResults);
  ui.results.addEventListener("keydown", moveInResults);
  updateHint();

  let me;
  try {
    me = await api("/api/auth/me");
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) {
      ui.userName.textContent = "无法加载用户信息";
    }
    return;
  }
  showUser(me);
  if (!canReadCustomers(me)) {
    denyCustomerAccess(`您的角色（${(me.role_labels || []).join("、") || "未知"}）没有客户查询权限。如需查询客户，请联系机构负责人或系统管理员。`);
  }
}

start();
