/**
 * A simple draft form for the screen pop's quick actions (新建投诉/新建报案/新建咨询): the prefill the pop
 * returned plus what the agent types, saved with POST /api/tickets as a draft (暂存, submit=false) linked
 * to the call. The full smart-entry form (type fields, cascading categories, autosave) replaces it later.
 *
 * The prefill is kept in sessionStorage so a reload keeps what the agent chose. Masked values (the API
 * masks phones and ID numbers for roles without the right) are shown but never sent back: a masked
 * number is not a number, and the ticket links the customer by id anyway.
 */

import { ApiError, api } from "./api.js";
import { $, el, shown, stash } from "./dom.js";

const KEY = "lianluo.prefill";

function masked(value) {
  return typeof value === "string" && value.includes("*");
}

function clear(value) {
  return value === undefined || value === null || value === "" || masked(value) ? undefined : value;
}

export class DraftForm {
  constructor() {
    this.ui = {
      form: $("draft-form"),
      heading: $("draft-heading"),
      facts: $("draft-facts"),
      subject: $("draft-subject"),
      demand: $("draft-demand"),
      name: $("draft-name"),
      policy: $("draft-policy"),
      message: $("draft-message"),
      save: $("draft-save"),
      cancel: $("draft-cancel"),
    };
    this.current = null;
  }

  start() {
    this.ui.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    this.ui.cancel.addEventListener("click", () => this.close());
    this.ui.form.addEventListener("keydown", (event) => {
      if ((event.ctrlKey || event.metaKey) && event.code === "KeyS") {
        event.preventDefault();
        this.save();
      } else if (event.key === "Escape") {
        this.close();
      }
    });
    const kept = stash.get(KEY);
    if (kept && kept.action && kept.prefill) {
      this.open(kept, { focus: false });
    }
  }

  /** ``action``: one of the pop's quick_actions ({action, label, prefill}); ``callerPhone``: the number as
   * the ringing event carried it (the pop's own copy is masked for agents). */
  open(action, { focus = true, callerPhone } = {}) {
    const entry = { ...action, callerPhone: callerPhone || action.callerPhone || null };
    this.current = entry;
    stash.set(KEY, entry);
    const p = entry.prefill;
    this.ui.heading.textContent = `${entry.label}（暂存草稿）`;
    this.ui.facts.replaceChildren(
      fact("来电号码", p.caller_phone),
      fact("客户", p.complainant_name),
      fact("联系电话", p.complainant_phone),
      fact("通话", p.call_id),
    );
    this.ui.name.value = p.complainant_name || "";
    this.ui.policy.value = p.policy_number || "";
    this.ui.message.textContent = "";
    this.ui.save.disabled = false;
    this.ui.form.hidden = false;
    if (focus) {
      this.ui.subject.focus();
    }
  }

  close() {
    this.current = null;
    stash.remove(KEY);
    this.ui.form.hidden = true;
    this.ui.form.reset();
  }

  body() {
    const p = this.current.prefill;
    const details = Object.fromEntries(Object.entries(p.details || {}).filter(([, v]) => clear(v) !== undefined));
    const body = {
      type: p.type,
      submit: false,
      channel: p.channel || "hotline",
      subject: this.ui.subject.value.trim(),
      demand: this.ui.demand.value.trim() || undefined,
      customer_id: p.customer_id ?? undefined,
      policy_number: this.ui.policy.value.trim() || undefined,
      call_id: p.call_id || undefined,
      node: p.node || undefined,
      complainant_name: this.ui.name.value.trim() || undefined,
      caller_phone: clear(p.caller_phone) || clear(this.current.callerPhone),
      complainant_phone: clear(p.complainant_phone),
      complainant_id_number: clear(p.complainant_id_number),
      details,
    };
    return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
  }

  async save() {
    if (!this.current) {
      return;
    }
    if (!this.ui.subject.value.trim()) {
      this.ui.message.textContent = "请填写事由";
      this.ui.message.dataset.tone = "error";
      this.ui.subject.focus();
      return;
    }
    this.ui.save.disabled = true;
    this.ui.message.dataset.tone = "info";
    this.ui.message.textContent = "正在暂存…";
    try {
      const ticket = await api("/api/tickets", { method: "POST", body: this.body() });
      this.ui.message.dataset.tone = "ok";
      this.ui.message.textContent = `已暂存为草稿 ${shown(ticket && ticket.number)}`;
      stash.remove(KEY);
      this.current = null; // saved once: a second click must not make a second draft
    } catch (err) {
      this.ui.message.dataset.tone = "error";
      if (err instanceof ApiError && err.errors.length) {
        this.ui.message.textContent = err.errors.map((e) => `${shown(e.field)}：${shown(e.message)}`).join("；");
      } else {
        this.ui.message.textContent = `暂存失败：${err instanceof ApiError ? err.detail : "请稍后重试"}`;
      }
    } finally {
      this.ui.save.disabled = !this.current;
    }
  }
}

function fact(label, value) {
  const wrap = el("div", "fact");
  wrap.append(el("dt", null, label), el("dd", "mono", shown(value)));
  return wrap;
}
