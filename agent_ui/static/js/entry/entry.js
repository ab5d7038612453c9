/**
 * The smart-entry form (智能录入): registering a complaint, claim report, consultation … while the caller is
 * on the line. It opens from the screen pop's quick actions (already filled from the call, the customer
 * and the chosen policy) or with Alt+N, renders the type's fields from GET /api/tickets/forms, checks
 * them as the agent types, autosaves them (drafts.js) and submits with POST /api/tickets. The
 * knowledge-base panel beside it follows the chosen cause.
 *
 * Shortcuts while it is open: Ctrl+Enter 提交, Ctrl+S 暂存 (a form draft, not a ticket), Esc 关闭 (the
 * draft is kept), Alt+K the knowledge-base search (wired by console.js).
 */

import { ApiError, api } from "../api.js";
import { $, el, formatDateTime, shown } from "../dom.js";
import { errorsByField, prefillValues, ticketBody } from "./body.js";
import { EntryDrafts, formKey, renewFormId } from "./drafts.js";
import { FieldSet } from "./fields.js";
import { KnowledgeBase } from "./kb.js";
import { PolicyPicker } from "./policy.js";
import { fieldProblem } from "./validate.js";

const CHECK_MS = 400;
const DEFAULT_AUTOSAVE_SECONDS = 60;

export class EntryForm {
  /** ``userId``: the signed-in user, whose drafts these are. */
  constructor({ userId }) {
    this.ui = {
      result: $("entry-result"), work: $("entry-work"), form: $("entry-form"), heading: $("entry-heading"),
      type: $("entry-type"), facts: $("entry-facts"), fields: $("entry-fields"), errors: $("entry-errors"),
      submit: $("entry-submit"), save: $("entry-save"), cancel: $("entry-cancel"), panelHeading: $("panel-heading"),
    };
    this.forms = null;
    this.def = null;
    this.type = null;
    this.context = null;
    this.fields = null;
    this.busy = false;
    this.opening = false; // between the start of show() and the form appearing
    this.filling = false;
    this.returnFocus = null;
    this.kb = new KnowledgeBase();
    this.policy = new PolicyPicker({ onChoose: (policy) => this.applyPolicy(policy) });
    this.drafts = new EntryDrafts(this, { status: $("entry-autosave"), heading: this.ui.panelHeading,
      owner: userId });
  }

  start() {
    this.kb.start();
    this.policy.start();
    this.ui.form.addEventListener("submit", (event) => event.preventDefault()); // Enter in a field never submits
    this.ui.submit.addEventListener("click", () => this.submit());
    this.ui.save.addEventListener("click", () => this.saveNow());
    this.ui.cancel.addEventListener("click", () => this.close());
    this.ui.type.addEventListener("change", () => this.switchType(this.ui.type.value));
    document.addEventListener("keydown", (event) => this.onKey(event));
    this.drafts.start();
  }

  get isOpen() {
    return !this.ui.work.hidden || this.opening;
  }

  autosaveSeconds() {
    return Number(this.ui.form.dataset.autosaveSeconds) || DEFAULT_AUTOSAVE_SECONDS;
  }

  onKey(event) {
    if (!this.isOpen || event.altKey) {
      return;
    }
    const ctrl = event.ctrlKey || event.metaKey;
    const inside = this.ui.work.contains(document.activeElement);
    if (ctrl && event.code === "KeyS") {
      event.preventDefault();
      this.saveNow();
    } else if (ctrl && event.key === "Enter" && inside) {
      event.preventDefault();
      this.submit();
    } else if (event.key === "Escape" && inside && !event.defaultPrevented
        && !(event.target.type === "search" && event.target.value)) { // Esc first clears a search box
      event.preventDefault();
      this.close();
    }
  }

  /** Alt+K: the knowledge-base search, when the form is open. */
  focusKnowledge() {
    if (!this.isOpen) {
      return false;
    }
    this.kb.focus();
    return true;
  }

  async loadForms() {
    if (!this.forms) {
      this.forms = api("/api/tickets/forms").then((rows) => (Array.isArray(rows) ? rows : []));
      this.forms.catch(() => { this.forms = null; });
    }
    try {
      return await this.forms;
    } catch (err) {
      this.ui.result.textContent = `无法打开登记表单：${err instanceof ApiError ? err.detail : "请稍后重试"}`;
      return null;
    }
  }

  /** A screen-pop quick action ({action, label, prefill}); ``callerPhone`` as the ringing event carried it. */
  async open(action, { callerPhone } = {}) {
    const prefill = (action && action.prefill) || {};
    const context = { label: action.label || null, prefill, callerPhone: callerPhone || null };
    await this.show(prefill.type || "complaint", context, prefillValues(prefill), { offerSaved: true });
  }

  /** Alt+N without a call: a complaint for ``customer`` (the one shown in the panel), or a blank one. */
  async openBlank(customer) {
    const id = customer && /^\d+$/.test(String(customer.id)) ? Number(customer.id) : null;
    if (this.isOpen && (this.context.prefill.customer_id ?? null) !== id) {
      renewFormId(); // another customer's complaint: the open one keeps its own draft
    }
    const prefill = { type: "complaint", channel: "hotline", customer_id: id,
      complainant_name: customer ? customer.name : null,
      complainant_phone: customer ? customer.mobile || customer.phone : null,
      complainant_id_number: customer ? customer.id_number : null };
    await this.show("complaint", { label: "新建投诉", prefill, callerPhone: null }, prefillValues(prefill),
      { offerSaved: true });
  }

  /** Opens the form; ``key``/``version`` when restoring a draft, ``offerSaved`` to offer one the key already has. */
  async show(type, context, values, { key = null, version = null, offerSaved = false } = {}) {
    if (this.isOpen && !key && this.drafts.key === formKey(type, context.prefill)) {
      this.reveal(); // the same form again (Alt+N twice): it is already here
      return;
    }
    if (this.isOpen && this.drafts.isDirty) {
      await this.drafts.save("auto"); // the form being replaced stays a draft
    }
    const forms = await this.loadForms();
    if (!forms || !forms.length) {
      return;
    }
    if (!this.isOpen) {
      this.returnFocus = document.activeElement;
    }
    const openedAt = Date.now();
    const shownType = forms.find((f) => f.type === type) ? type : forms[0].type;
    this.context = context;
    this.ui.type.replaceChildren(...forms.map((f) => {
      const option = el("option", null, f.label);
      option.value = f.type;
      return option;
    }));
    this.ui.result.textContent = "";
    this.ui.errors.textContent = "";
    // Bound before the fields appear, so that nothing typed or saved can precede the key.
    this.drafts.bind(key || formKey(shownType, context.prefill), version);
    this.opening = true;
    try {
      await this.renderType(shownType, values);
    } finally {
      this.opening = false;
    }
    this.ui.work.hidden = false;
    this.showFacts();
    this.kb.reset();
    this.suggestKnowledge();
    this.reveal();
    await this.policy.load(context.prefill.customer_id);
    if (!this.fields) {
      return; // closed while the policies loaded
    }
    this.policy.show(this.fields.values().policy_number);
    if (offerSaved) {
      await this.drafts.offerOwn(openedAt);
    }
  }

  /** A draft's payload back in the form, under the draft's own key. */
  async restore(payload, { key, version }) {
    await this.show(payload.type, payload.context, payload.values, { key, version });
  }

  /** What the drafts save: the open form's type, context and raw values. */
  state() {
    if (!this.isOpen || !this.fields || this.filling) {
      return null;
    }
    return { type: this.type, label: this.def.label, context: this.context, values: this.fields.values() };
  }

  /** Scrolls 客户全景 (only it: scrollIntoView would also shift the fixed page) to the form, focused on 事由. */
  reveal() {
    const panel = this.ui.work.closest(".panel");
    if (panel) {
      panel.scrollTop += this.ui.work.getBoundingClientRect().top - panel.getBoundingClientRect().top - 12;
    }
    this.focusFirst({ preventScroll: true });
  }

  focusFirst(options) {
    const subject = this.fields && this.fields.control("subject");
    (subject ? subject.input : this.ui.type).focus(options);
  }

  async renderType(type, values) {
    this.type = type;
    this.def = (await this.forms).find((f) => f.type === type);
    this.ui.type.value = type;
    this.ui.heading.textContent = `智能录入 · ${this.def.label}`;
    this.fields = new FieldSet(this.ui.fields, this.def.fields, { onChange: (c) => this.changed(c) });
    this.filling = true;
    try {
      await this.fields.render();
      await this.fields.fill(values);
    } finally {
      this.filling = false;
    }
    for (const control of this.fields.controls.values()) {
      control.input.addEventListener("blur", () => this.check(control, { required: control.touched }));
    }
  }

  showFacts() {
    const p = this.context.prefill;
    const facts = [["来电号码", p.caller_phone || this.context.callerPhone], ["客户", p.complainant_name],
      ["通话", p.call_id]];
    this.ui.facts.replaceChildren(...facts.map(([label, value]) => {
      const wrap = el("div", "fact");
      wrap.append(el("dt", null, label), el("dd", "mono", shown(value)));
      return wrap;
    }));
  }

  async switchType(type) {
    if (type === this.type || this.busy) {
      return;
    }
    await this.renderType(type, this.fields.values()); // same-named fields (the common ones) keep their values
    this.context = { ...this.context, prefill: { ...this.context.prefill, type } };
    this.drafts.rebind(formKey(type, this.context.prefill));
    const chosen = this.policy.find(this.fields.values().policy_number);
    if (chosen) {
      this.applyPolicy(chosen, { onlyEmpty: true });
    }
    this.suggestKnowledge();
  }

  changed(control) {
    if (this.filling) {
      return;
    }
    this.drafts.dirty();
    window.clearTimeout(control.checkTimer);
    control.checkTimer = window.setTimeout(() => this.check(control), CHECK_MS);
    const name = control.def.name;
    if (name === "policy_number") {
      const policy = this.policy.show(control.value);
      if (policy) {
        this.applyPolicy(policy, { onlyEmpty: true });
      }
    }
    if (name === "subject" || control.def.kind === "code") {
      this.suggestKnowledge();
    }
  }

  check(control, { required = false } = {}) {
    const problem = control.masked !== null ? null : fieldProblem(control.def, control.value, { submitting: required });
    control.showError(problem);
    return problem;
  }

  /** What choosing a policy implies: its number, and the line, plate or agent code the type has a field for. */
  applyPolicy(policy, { onlyEmpty = false } = {}) {
    if (!policy || !this.fields) {
      return;
    }
    const set = (name, value) => {
      const control = this.fields.control(name);
      if (control && value && control.masked === null && !(onlyEmpty && control.value)) {
        control.value = value;
        control.showError(null);
      }
    };
    const number = this.fields.control("policy_number");
    if (number && number.value !== policy.policy_number) {
      number.value = policy.policy_number;
      number.showError(null);
    }
    if (this.type === "complaint") {
      set("details.line_of_business", policy.line);
    }
    if (this.type === "claim_report") {
      set("details.plate", policy.plate_number);
    }
    set("details.respondent.sales_agent_code", policy.sales_agent_code);
    this.drafts.dirty();
    this.suggestKnowledge();
  }

  suggestKnowledge() {
    const control = (name) => this.fields && this.fields.control(name);
    const sub = control("details.sub_cause");
    const cause = control("details.cause");
    const subject = control("subject");
    this.kb.suggest((sub && sub.text()) || (cause && cause.text()) || (subject && subject.value) || "");
  }

  setBusy(on) {
    this.busy = on;
    for (const control of [this.ui.submit, this.ui.save, this.ui.type]) {
      control.disabled = on;
    }
  }

  /** Ctrl+S / 暂存: the form draft saved now, to the server and the browser. */
  async saveNow() {
    if (!this.isOpen || this.busy) {
      return;
    }
    this.setBusy(true);
    try {
      await this.drafts.save("manual");
    } finally {
      this.setBusy(false);
    }
  }

  validateAll() {
    let first = null;
    let count = 0;
    for (const control of this.fields.controls.values()) {
      if (this.check(control, { required: true })) {
        count += 1;
        first = first || control;
      }
    }
    return { first, count };
  }

  async submit() {
    if (!this.isOpen || this.busy) {
      return;
    }
    this.ui.errors.textContent = "";
    const { first, count } = this.validateAll();
    if (first) {
      this.ui.errors.textContent = `有 ${count} 处需要更正，请查看标红的项目`;
      first.input.focus();
      return;
    }
    const body = ticketBody(this.type, this.def.fields, this.fields.values(), this.context);
    this.setBusy(true);
    let ticket;
    try {
      ticket = await api("/api/tickets", { method: "POST", body });
    } catch (err) {
      this.showServerErrors(err);
      return;
    } finally {
      this.setBusy(false);
    }
    await this.close({ submitted: true });
    const due = ticket.decision_due_at ? `，处理时限 ${formatDateTime(ticket.decision_due_at)}` : "";
    this.ui.result.textContent = `已登记 ${shown(ticket.number)}${due}`;
  }

  showServerErrors(err) {
    if (!(err instanceof ApiError)) {
      this.ui.errors.textContent = "提交失败，请稍后重试";
      return;
    }
    const { byField, unmatched } = errorsByField(err.errors, [...this.fields.controls.keys()]);
    let first = null;
    for (const [name, control] of this.fields.controls) {
      if (byField.has(name)) {
        control.showError(byField.get(name));
        first = first || control;
      }
    }
    const rest = unmatched.length ? unmatched.join("；") : first ? "" : err.detail;
    this.ui.errors.textContent = first ? `提交未成功，请更正标红的项目${rest ? `（${rest}）` : ""}` : `提交未成功：${rest}`;
    if (first) {
      first.input.focus();
    }
  }

  /** Esc / 关闭: the form goes away; unless it was just submitted, what was typed stays a draft. */
  async close({ submitted = false } = {}) {
    if (!this.isOpen) {
      return;
    }
    const deleting = this.drafts.closed({ submitted }); // saves what was typed while the form is still here
    this.ui.work.hidden = true;
    this.ui.fields.replaceChildren();
    this.fields = null;
    const back = this.returnFocus;
    this.returnFocus = null;
    (back && back.isConnected && back !== document.body ? back : this.ui.panelHeading).focus();
    await deleting;
    await this.drafts.offerPending({ focus: false });
  }
}
