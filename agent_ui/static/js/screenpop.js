/**
 * The screen pop: when a call rings this agent's phone (call.agent_ringing on the websocket) the console
 * asks GET /api/screen-pop for the caller's whole picture and shows it in 客户全景 — the call and its IVR
 * path, the customer (masked as the API returns it), policies, claims, complaints with their deadlines,
 * recent consultations, callbacks and risk flags — with the three quick actions. Later events of the same
 * call (answered, held, ended …) update the call's state. An unknown caller gets a search box. The card carries
 * the call controls (callcontrol.js); a click-to-call of this page shows in it as 外呼 once the agent's phone rings.
 */

import { ApiError, api } from "./api.js";
import { CallControl } from "./callcontrol.js";
import { $, el, formatDateTime, formatElapsed, shown, stash } from "./dom.js";
import { queueLabel } from "./labels.js";
import { myState } from "./mystate.js";
import { cell, flagBadge, showClaims, showIdentity, showPolicies, showTable, statusChip } from "./panel.js";

const CALL_STATES = {
  "call.agent_ringing": { label: "振铃中", tone: "ringing" },
  "call.answered": { label: "通话中", tone: "call" },
  "call.held": { label: "保持中", tone: "held" },
  "call.resumed": { label: "通话中", tone: "call" },
  "call.transferred": { label: "已转接", tone: "ended" },
  "call.abandoned": { label: "来电已放弃", tone: "ended" },
  "call.ended": { label: "已结束", tone: "ended" },
};
const MATCHED_BY = { ivr: "IVR 识别", phone: "来电号码匹配", chosen: "坐席选定" };
const TICKET_STATUS = { draft: "暂存", open: "处理中", closed: "已办结" };
const DUE_STATE = { normal: "正常", due_soon: "将超期", overdue: "已超期" };
const CALLBACK_STATUS = { pending: "待回拨", dialling: "回拨中", done: "已回拨", cancelled: "已取消" };
const SEARCH_LABELS = { phone: "电话", id_number: "证件号", policy_number: "保单号", plate: "车牌号" };

export class ScreenPop {
  /** ``showPanel()`` reveals the customer cards; ``draft`` is the quick actions' form. */
  constructor({ userId, ownInterface, supervises, showPanel, draft }) {
    this.key = `lianluo.call.${userId}`;
    this.ownInterface = ownInterface;
    this.supervises = supervises;
    this.showPanel = showPanel;
    this.draft = draft;
    this.call = null;
    this.pop = null;
    this.request = 0;
    this.controls = new CallControl();
    this.ui = {
      card: $("call-card"),
      caller: $("call-caller"),
      state: $("call-state"),
      timer: $("call-timer"),
      facts: $("call-facts"),
      path: $("ivr-path"),
      risk: $("pop-risk"),
      status: $("pop-status"),
      actions: $("quick-actions"),
      unknown: $("unknown-caller"),
      candidates: $("pop-candidates"),
      searchForm: $("pop-search"),
      searchKey: $("pop-search-key"),
      searchValue: $("pop-search-value"),
      searchError: $("pop-search-error"),
      searchResults: $("pop-search-results"),
      extras: $("pop-extras"),
      complaintsBody: $("complaints-body"),
      complaintsCount: $("complaints-count"),
      recentBody: $("recent-body"),
      recentCount: $("recent-count"),
      callbacksBody: $("callbacks-body"),
      callbacksCount: $("callbacks-count"),
    };
  }

  start() {
    this.ui.searchForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.search();
    });
    window.setInterval(() => this.tick(), 1000);
    this.controls.start().then(() => this.controls.show(this.call));
    const kept = stash.get(this.key);
    if (kept && kept.call_id) {
      this.call = kept;
      this.renderCall();
      this.load({ customerId: kept.dial ? kept.dial.customerId : null });
    } else {
      this.resume();
    }
  }

  /** A console opened while the agent's phone is already on a call (a reload, a new tab): the platform knows
   * the call (GET /api/telephony/agents/me/state), so its card and the caller's picture come back. */
  async resume() {
    const mine = await myState();
    if (!mine) {
      return; // no phone, or not allowed: the next ring shows the next call
    }
    const live = mine && mine.call;
    if (!live || this.call) {
      return; // no call, or an event got here first
    }
    const since = new Date(Date.now() - (live.seconds || 0) * 1000).toISOString();
    const outbound = live.direction === "outbound";
    this.call = { call_id: live.call_id, node: null, phone: outbound ? null : live.caller || null,
      direction: outbound ? "outbound" : "inbound", dial: null, ivr: {}, queue: live.queue || null,
      type: live.status === "talking" ? "call.answered" : "call.agent_ringing", at: since, since };
    this.save();
    this.renderCall();
    this.load({ customerId: null });
  }

  ringsMe(data) {
    if (this.ownInterface) {
      return data.agent_interface === this.ownInterface;
    }
    return !this.supervises; // the hub sends an agent only the calls that ring their own phone
  }

  handle(frame) {
    const data = frame.data || {};
    this.controls.observe(frame);
    if (frame.type === "call.agent_ringing" && this.ringsMe(data)) {
      // A click-to-call rings the agent's own phone first: the card shows what this page dialled.
      const outbound = data.direction === "outbound";
      const dial = outbound ? this.controls.dialFor(data.call_id) : null;
      this.call = { call_id: data.call_id, node: frame.node || null, phone: outbound ? null : data.caller || null,
        direction: outbound ? "outbound" : "inbound", dial, ivr: data.ivr || {}, queue: data.queue || null,
        type: frame.type, at: frame.at, since: frame.at };
      this.save();
      this.renderCall();
      this.load({ customerId: dial ? dial.customerId : null });
      return;
    }
    if (this.call && data.call_id === this.call.call_id && CALL_STATES[frame.type]) {
      if (frame.type === "call.answered") {
        this.call.since = frame.at;
      }
      this.call.type = frame.type;
      this.call.at = frame.at;
      this.save();
      this.renderState();
    }
  }

  save() {
    stash.set(this.key, this.call);
  }

  renderCall() {
    this.ui.card.hidden = false;
    this.ui.caller.textContent = this.outbound() ? this.outboundTitle() : "来电";
    this.ui.facts.replaceChildren();
    this.ui.path.replaceChildren();
    this.ui.risk.replaceChildren();
    this.ui.actions.replaceChildren();
    this.ui.unknown.hidden = true;
    this.ui.status.textContent = this.outbound() ? "正在加载客户全景…" : "正在加载来电人全景…";
    this.renderState();
  }

  renderState() {
    const state = CALL_STATES[this.call.type] || { label: shown(this.call.type), tone: "call" };
    this.ui.state.textContent = state.label;
    this.ui.state.dataset.tone = state.tone;
    this.tick();
    this.controls.show(this.call);
  }

  outbound() {
    return Boolean(this.call && this.call.direction === "outbound");
  }

  outboundTitle() {
    const dial = this.call.dial;
    return `外呼 ${dial && dial.label ? dial.label : "号码未知"}`;
  }

  tick() {
    if (!this.call) {
      return;
    }
    const since = Date.parse(this.call.since || "");
    const live = ["call.agent_ringing", "call.answered", "call.held", "call.resumed"].includes(this.call.type);
    this.ui.timer.textContent = live && !Number.isNaN(since) ? formatElapsed((Date.now() - since) / 1000) : "";
  }

  async load({ customerId }) {
    const call = this.call;
    const request = ++this.request;
    let pop;
    try {
      const phone = call.direction === "outbound" ? call.dial && call.dial.number : call.phone;
      pop = await api("/api/screen-pop", { query: { call_id: call.call_id, node: call.node, phone,
        customer_id: customerId } });
    } catch (err) {
      if (request === this.request) {
        this.ui.status.textContent = err instanceof ApiError && err.status === 403
          ? "您的角色不能查看来电人全景。" : `来电人全景加载失败：${err instanceof ApiError ? err.detail : "请稍后重试"}`;
      }
      return;
    }
    if (request !== this.request) {
      return;
    }
    this.pop = pop;
    this.render(pop);
  }

  render(pop) {
    this.ui.caller.textContent = this.outbound() ? this.outboundTitle() : `来电 ${pop.caller || "号码未知"}`;
    if (this.outbound()) {
      this.ui.status.textContent = pop.known ? "外呼客户" : "外呼号码未对应客户";
    } else {
      this.ui.status.textContent = pop.known ? `已识别：${MATCHED_BY[pop.matched_by] || "已识别"}` : "未识别来电人";
    }
    this.renderIvr(pop);
    this.ui.risk.replaceChildren(...(pop.risk_flags || []).map((f) => flagBadge(f.code, f.label)));
    this.ui.actions.replaceChildren(...(pop.quick_actions || []).map((action, i) => this.actionButton(action, i)));
    if (pop.known && pop.customer) {
      this.ui.unknown.hidden = true;
      showIdentity(pop.customer);
      showPolicies({ status: "fulfilled", value: pop.policies });
      showClaims({ status: "fulfilled", value: pop.claims });
      this.renderTickets(pop);
      this.ui.extras.hidden = false;
      this.showPanel(pop.customer);
    } else {
      this.renderUnknown(pop);
    }
  }

  renderIvr(pop) {
    const ivr = pop.ivr;
    const facts = [];
    const inbound = !this.outbound(); // an outbound call went through no IVR
    if (inbound && ivr) {
      facts.push(["服务", ivr.service], ["按键", ivr.choice], ["输入保单号", ivr.policy_number], ["队列", ivr.queue && queueLabel(ivr.queue)]);
    } else if (inbound) {
      const vars = this.call.ivr || {};
      facts.push(["服务", vars.IVR_SERVICE || vars.service], ["按键", vars.IVR_CHOICE || vars.choice],
        ["输入保单号", vars.IVR_POLICY || vars.policy], ["队列", this.call.queue && queueLabel(this.call.queue)]);
    }
    facts.push(["选定保单", pop.chosen_policy_number], ["通话 ID", pop.call_id || this.call.call_id]);
    this.ui.facts.replaceChildren(...(this.outbound() ? [] : [this.callerFact(pop)]), ...facts.map(([label, value]) => {
      const wrap = el("div", "fact");
      wrap.append(el("dt", null, label), el("dd", "mono", shown(value)));
      return wrap;
    }));
    const steps = ivr && Array.isArray(ivr.path) ? ivr.path : [];
    this.ui.path.replaceChildren(...steps.map((step) => {
      const digits = Array.isArray(step.digits) ? step.digits.filter(Boolean).join("/") : "";
      return el("li", null, digits ? `${shown(step.node)}（${digits}）` : shown(step.node));
    }));
  }

  /** The caller's number as the pop shows it (masked per role), with 拨打 to call them back: the page has the
   * number from the call event already, so it dials by number; the answer goes to the card's status line. */
  callerFact(pop) {
    const wrap = el("div", "fact");
    const value = el("dd", "mono", shown(pop.caller));
    wrap.append(el("dt", null, "来电号码"), value);
    const number = this.call.phone;
    if (this.controls.available && pop.caller && number) {
      const button = el("button", "btn-dial", "拨打");
      button.type = "button";
      button.setAttribute("aria-label", "拨打 来电号码");
      button.addEventListener("click", async () => {
        button.disabled = true;
        try {
          this.controls.say(await this.controls.dial({ body: { number }, label: `来电号码 ${pop.caller}`, number,
            customerId: pop.customer ? pop.customer.id : null }));
        } finally {
          button.disabled = false;
        }
      });
      value.append(button);
    }
    return wrap;
  }

  actionButton(action, index) {
    const button = el("button", index === 0 ? "btn btn-primary" : "btn btn-ghost", action.label);
    button.type = "button";
    button.dataset.action = action.action;
    if (index === 0) {
      button.setAttribute("aria-keyshortcuts", "Alt+N");
    }
    button.addEventListener("click", () => this.draft.open(action, { callerPhone: this.call && this.call.phone }));
    return button;
  }

  /** Alt+N: the first quick action (新建投诉) of the current pop. */
  newTicket() {
    const first = this.ui.actions.querySelector("button");
    if (first) {
      first.click();
      return true;
    }
    return false;
  }

  renderTickets(pop) {
    const complaints = { status: "fulfilled", value: pop.complaints };
    showTable(this.ui.complaintsBody, this.ui.complaintsCount, complaints, 6, complaintRow, "暂无投诉");
    const recent = [...(pop.consultations || []), ...(pop.other_tickets || [])];
    showTable(this.ui.recentBody, this.ui.recentCount, { status: "fulfilled", value: recent }, 5, recentRow,
      "近 30 天无咨询及其他工单");
    showTable(this.ui.callbacksBody, this.ui.callbacksCount, { status: "fulfilled", value: pop.callbacks }, 4,
      callbackRow, "暂无预约回拨");
  }

  renderUnknown(pop) {
    this.ui.extras.hidden = true;
    this.ui.unknown.hidden = false;
    const keys = pop.search_keys && pop.search_keys.length ? pop.search_keys : Object.keys(SEARCH_LABELS);
    const selected = this.ui.searchKey.value;
    this.ui.searchKey.replaceChildren(...keys.map((key) => {
      const option = el("option", null, SEARCH_LABELS[key] || key);
      option.value = key;
      return option;
    }));
    if (keys.includes(selected)) {
      this.ui.searchKey.value = selected;
    }
    this.ui.candidates.replaceChildren(...(pop.candidates || []).map((c) => this.customerItem(c)));
    this.ui.searchResults.replaceChildren();
  }

  customerItem(customer) {
    const item = el("li", "result-item");
    const button = el("button", "result");
    button.type = "button";
    const top = el("span", "result-top");
    top.append(el("span", "result-name", shown(customer.name)), el("span", "result-phone", shown(customer.mobile)));
    const meta = el("span", "result-meta");
    meta.append(el("span", "mono", shown(customer.id_number)), el("span", "result-org", shown(customer.org_name)));
    button.append(top, meta);
    button.addEventListener("click", () => {
      this.ui.status.textContent = `正在加载 ${shown(customer.name)} 的全景…`;
      this.load({ customerId: customer.id });
    });
    item.append(button);
    return item;
  }

  async search() {
    const key = this.ui.searchKey.value;
    const value = this.ui.searchValue.value.trim();
    this.ui.searchError.textContent = "";
    if (!value) {
      this.ui.searchError.textContent = `请输入${SEARCH_LABELS[key] || "查询内容"}`;
      this.ui.searchValue.focus();
      return;
    }
    try {
      const found = await api("/api/screen-pop/search", { query: { [key]: value } });
      const rows = Array.isArray(found) ? found : [];
      this.ui.searchResults.replaceChildren(...(rows.length ? rows.map((c) => this.customerItem(c))
        : [el("li", "status status-empty", "未找到客户")]));
    } catch (err) {
      if (err instanceof ApiError && err.status === 422) {
        this.ui.searchError.textContent = err.errors.map((e) => shown(e.message)).join("；") || err.detail;
      } else {
        this.ui.searchError.textContent = err instanceof ApiError ? err.detail : "查询失败，请稍后重试。";
      }
    }
  }
}

function complaintRow(t) {
  const row = el("tr", t.due_state === "overdue" ? "row-overdue" : null);
  row.append(
    cell(t.number, "mono nowrap"),
    cell(t.type_label),
    statusChip(TICKET_STATUS[t.status] || t.status, t.status),
    cell(t.subject),
    cell(formatDateTime(t.received_at), "nowrap"),
    statusChip(t.decision_due_at ? `${formatDateTime(t.decision_due_at)} ${DUE_STATE[t.due_state] || ""}` : "—",
      t.due_state),
  );
  return row;
}

function recentRow(t) {
  const row = el("tr");
  row.append(cell(t.number, "mono nowrap"), cell(t.type_label), statusChip(TICKET_STATUS[t.status] || t.status, t.status),
    cell(t.subject), cell(formatDateTime(t.received_at), "nowrap"));
  return row;
}

function callbackRow(c) {
  const row = el("tr");
  row.append(cell(c.service), statusChip(CALLBACK_STATUS[c.status] || c.status, c.status),
    cell(formatDateTime(c.requested_at), "nowrap"), cell(formatDateTime(c.due_at), "nowrap"));
  return row;
}
