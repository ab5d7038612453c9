/**
 * The agent console: who is signed in, customer search, the customer overview (客户全景), and the live
 * part — the websocket (hub.js), the agent state bar (statebar.js) and the screen pop (screenpop.js) — and
 * the smart-entry form its quick actions open (entry/entry.js).
 *
 * Every piece of data reaches the page through textContent or createElement, never as markup:
 * names, addresses and ticket text are typed by callers and must not become HTML. Identity numbers
 * and phone numbers are shown exactly as the API returns them; the API masks them per role.
 */

import { ApiError, api, goToLogin, segment } from "./api.js";
import { $, el, shown } from "./dom.js";
import { EntryForm } from "./entry/entry.js";
import { Hub } from "./hub.js";
import { flagBadges, levelLabel, showClaims, showIdentity, showPolicies } from "./panel.js";
import { ScreenPop } from "./screenpop.js";
import { StateBar } from "./statebar.js";
import { logout as topLogout, showUser as showTopUser } from "./topbar.js";

const SEARCH_FIELDS = {
  phone: { label: "来电号码", hint: "输入来电号码，如 13800138000 或 010-12345678", inputmode: "tel" },
  id_number: { label: "证件号", hint: "输入 18 位居民身份证号码", inputmode: "text" },
  policy_number: { label: "保单号", hint: "输入完整保单号", inputmode: "text" },
  plate_number: { label: "车牌号", hint: "输入车牌号，如 京A12345", inputmode: "text" },
  name: { label: "姓名", hint: "输入客户姓名，至少 2 个字", inputmode: "text" },
};

const CUSTOMER_READ = "customer.read";
const TICKET_READ = "ticket.read";
const CALL_CONTROL = "call.control";
const USER_READ = "user.read";
const SUPERVISING = ["agent.supervise", "call.read"];

const ui = {
  userName: $("user-name"),
  logout: $("logout"),
  connection: $("connection"),
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
  popExtras: $("pop-extras"),
};

let searchController = null;
let detailRequest = 0;
let stateBar = null;
let screenPop = null;
let entryForm = null;
let shownCustomer = null; // the customer in 客户全景: Alt+N without a call registers a complaint for them

// --- who am I, logout, shortcuts

function canReadCustomers(me) {
  return Array.isArray(me.permissions) && me.permissions.includes(CUSTOMER_READ);
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

const logout = () => topLogout();

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
  } else if (event.code === "KeyN" && entryForm) {
    event.preventDefault();
    if (!(screenPop && screenPop.newTicket())) {
      entryForm.openBlank(shownCustomer);
    }
  } else if (event.code === "KeyK" && entryForm && entryForm.focusKnowledge()) {
    event.preventDefault();
  } else if (stateBar && stateBar.shortcut(event.code)) {
    event.preventDefault();
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
  shownCustomer = null;
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
  ui.popExtras.hidden = true; // the caller's tickets and callbacks belong to the pop, not to this customer
  shownCustomer = detail.value;
  showIdentity(detail.value);
  showPolicies(policies);
  showClaims(claims);
  ui.panelStatus.textContent = `已显示 ${shown(detail.value.name)} 的客户全景`;
  ui.panelStatus.classList.add("sr-only");
  ui.panelBody.hidden = false;
}

// --- the live part: websocket, state bar, screen pop

function has(me, permission) {
  return Array.isArray(me.permissions) && me.permissions.includes(permission);
}

/** Shows the customer cards for a customer the screen pop identified. */
function showPopCustomer(customer) {
  detailRequest += 1; // a lookup still loading must not replace the caller's picture
  markSelected(null);
  shownCustomer = customer;
  ui.panel.setAttribute("aria-busy", "false");
  ui.panelStatus.textContent = `已显示来电人 ${shown(customer.name)} 的客户全景`;
  ui.panelStatus.classList.add("sr-only");
  ui.panelBody.hidden = false;
}

/** The user's own phone, when the API tells it (users who may read users); agents are sent only their own
 * events by the hub and need not know it. */
async function ownInterface(me) {
  if (!has(me, USER_READ)) {
    return null;
  }
  try {
    const user = await api(`/api/users/${segment(me.id)}`);
    return (user && user.phone_interface) || null;
  } catch {
    return null;
  }
}

async function startLive(me) {
  const supervises = SUPERVISING.some((p) => has(me, p));
  const phone = await ownInterface(me);
  if (has(me, CALL_CONTROL)) {
    stateBar = new StateBar({ userId: me.id, ownInterface: phone, supervises });
    stateBar.start();
  }
  if (has(me, CUSTOMER_READ) && has(me, TICKET_READ)) {
    entryForm = new EntryForm({ userId: me.id });
    entryForm.start();
    screenPop = new ScreenPop({ userId: me.id, ownInterface: phone, supervises, showPanel: showPopCustomer,
      draft: entryForm });
    screenPop.start();
  }
  const hub = new Hub({
    userId: me.id,
    indicator: ui.connection,
    onEvent: (frame) => {
      if (frame.stream === "agents" && stateBar) {
        stateBar.handle(frame);
      } else if (frame.stream === "calls" && screenPop) {
        screenPop.handle(frame);
      }
    },
    onAuthLost: goToLogin,
  });
  hub.start();
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
  showTopUser(me);
  if (!canReadCustomers(me)) {
    denyCustomerAccess(`您的角色（${(me.role_labels || []).join("、") || "未知"}）没有客户查询权限。如需查询客户，请联系机构负责人或系统管理员。`);
  }
  await startLive(me);
}

start();
