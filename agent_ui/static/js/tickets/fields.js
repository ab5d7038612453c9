/**
 * The fields of one action's inline form, chosen by the action and its ``target`` (see actions.js), each
 * with its label, hint and error line. ``read()`` checks what the server would refuse anyway (an empty
 * required opinion, no target) so the user hears it at once, and builds the ActionIn body; ``showErrors()``
 * puts the server's field errors (names as in ActionIn: ``opinion``, ``reply.told_at``…) beside their fields.
 */

import { ApiError, api } from "../api.js";
import { el, shown } from "../dom.js";
import { REPLY_METHODS, TICKET_STATUS, fromLocalInput, localInputValue } from "./labels.js";

let serial = 0;

function control(tag, name, attrs = {}) {
  const node = el(tag);
  node.id = `af-${name.replace(/\W/g, "-")}-${serial}`;
  node.name = name;
  for (const [key, value] of Object.entries(attrs)) {
    node.setAttribute(key, value);
  }
  return node;
}

function option(value, label) {
  const node = el("option", null, label);
  node.value = String(value);
  return node;
}

export class ActionFields {
  constructor(spec, ticket, context) {
    serial += 1;
    this.spec = spec;
    this.ticket = ticket;
    this.context = context;
    this.nodes = [];
    this.registry = new Map(); // field name -> { input, error }
    this.mergeTarget = null;
    this.build();
  }

  // --- building

  field(name, label, input, { hint = null, wide = true } = {}) {
    const wrap = el("div", wide ? "field field-wide" : "field");
    const labelNode = el("label", null, label);
    labelNode.htmlFor = input.id;
    const error = el("p", "field-error");
    error.id = `${input.id}-error`;
    const described = [error.id];
    wrap.append(labelNode, input);
    if (hint) {
      const hintNode = el("p", "hint", hint);
      hintNode.id = `${input.id}-hint`;
      described.unshift(hintNode.id);
      wrap.append(hintNode);
    }
    wrap.append(error);
    input.setAttribute("aria-describedby", described.join(" "));
    this.registry.set(name, { input, error });
    this.nodes.push(wrap);
    return input;
  }

  build() {
    const { action, target } = this.spec;
    if (action === "escalate") {
      const own = this.context.ownOrg();
      const parent = own && own.parent_id ? this.context.orgName(own.parent_id) : "上级机构";
      this.nodes.push(el("p", "action-note", `工单将上报至上级机构（${parent}）办理。`));
    } else if (target === "org") {
      this.targetOrg();
    } else if (target === "orgs") {
      this.targetOrgs();
    } else if (target === "user") {
      this.field("target_user_id", "指定办理人员（用户编号）",
        control("input", "target_user_id", { type: "number", min: "1", required: "" }));
    } else if (target === "ticket") {
      this.mergeLookup();
    }
    if (action === "reply") {
      this.replyFields();
    } else if (action === "extend") {
      this.extendFields();
    } else if (action === "appraisal") {
      this.appraisalFields();
    } else if (action === "withdraw") {
      this.field("withdrawn_at", "撤回受理时间", control("input", "withdrawn_at", { type: "datetime-local", required: "" }),
        { hint: "投诉人提出撤回的时间（北京时间）；办理期限截至该日。", wide: false }).value = localInputValue();
    }
    const needed = Boolean(this.spec.needs_opinion);
    const opinion = control("textarea", "opinion", { rows: "3", maxlength: "2000" });
    if (needed) {
      opinion.required = true;
    }
    this.field("opinion", needed ? "处理意见（必填）" : "处理意见", opinion);
  }

  targetOrg() {
    const select = control("select", "target_org_id", { required: "" });
    select.append(option("", "请选择机构"));
    for (const org of this.context.targetOrgs()) {
      if (org.id !== this.context.me.org_id) {
        select.append(option(org.id, org.label));
      }
    }
    this.field("target_org_id", "转至机构", select, { wide: false });
  }

  targetOrgs() {
    const box = el("fieldset", "org-checks");
    box.id = `af-target-orgs-${serial}`;
    box.append(el("legend", null, "会签单位（可多选）"));
    for (const org of this.context.targetOrgs()) {
      if (org.id === this.context.me.org_id) {
        continue;
      }
      const input = control("input", "target_org_ids", { type: "checkbox" });
      input.id = `${box.id}-${org.id}`;
      input.value = String(org.id);
      const label = el("label", "check");
      label.append(input, document.createTextNode(` ${org.label.trim()}`));
      box.append(label);
    }
    const error = el("p", "field-error");
    error.id = `${box.id}-error`;
    box.setAttribute("aria-describedby", error.id);
    const wrap = el("div", "field field-wide");
    wrap.append(box, error);
    this.registry.set("target_org_ids", { input: box, error });
    this.nodes.push(wrap);
  }

  mergeLookup() {
    const input = control("input", "merge_number", { type: "search", maxlength: "32", autocomplete: "off",
      spellcheck: "false", required: "" });
    const find = el("button", "btn btn-ghost", "查找");
    find.type = "button";
    const found = el("p", "merge-found");
    found.setAttribute("role", "status");
    this.field("merge_into_ticket_id", "合并到工单（工单号）", input,
      { hint: "输入在办的同类工单号后点“查找”，确认后提交。" });
    const row = el("div", "search-row");
    input.replaceWith(row);
    row.append(input, find);
    row.after(found);
    const lookup = () => this.findTicket(input.value.trim(), found);
    find.addEventListener("click", lookup);
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault(); // Enter here looks the number up; it does not submit the merge
        lookup();
      }
    });
    input.addEventListener("input", () => {
      this.mergeTarget = null;
      found.textContent = "";
    });
  }

  async findTicket(number, found) {
    this.mergeTarget = null;
    if (!number) {
      found.textContent = "请输入工单号。";
      return;
    }
    found.textContent = "正在查找…";
    try {
      const rows = await api("/api/tickets", { query: { number, limit: 1 } });
      const t = Array.isArray(rows) && rows.length ? rows[0] : null;
      if (!t) {
        found.textContent = "未找到该工单（或不在您的查看范围内）。";
      } else if (t.id === this.ticket.id) {
        found.textContent = "不能合并到本工单自身。";
      } else {
        this.mergeTarget = t;
        found.textContent = `将合并到：${t.number} · ${this.context.typeLabel(t.type)} · `
          + `${TICKET_STATUS[t.status] || t.status} · ${shown(t.subject)}`;
      }
    } catch (err) {
      found.textContent = err instanceof ApiError ? err.detail : "查找失败，请稍后重试。";
    }
  }

  replyFields() {
    const method = control("select", "reply.method", { required: "" });
    for (const [value, label] of REPLY_METHODS) {
      method.append(option(value, label));
    }
    this.field("reply.method", "答复方式", method, { wide: false });
    const told = control("input", "reply.told_at", { type: "datetime-local", required: "" });
    told.value = localInputValue();
    this.field("reply.told_at", "告知时间", told, { wide: false, hint: "北京时间" });
    const satisfied = control("select", "reply.satisfied");
    satisfied.append(option("", "未确认"), option("true", "是"), option("false", "否"));
    this.field("reply.satisfied", "是否满足诉求", satisfied, { wide: false });
    this.field("reply.result", "告知的处理结果", control("textarea", "reply.result", { rows: "2", maxlength: "2000" }));
  }

  customerTold(label) {
    const input = control("input", "customer_told", { type: "checkbox" });
    const wrap = el("div", "field field-wide");
    const labelNode = el("label", "check");
    labelNode.append(input, document.createTextNode(` ${label}`));
    const error = el("p", "field-error");
    error.id = `${input.id}-error`;
    input.setAttribute("aria-describedby", error.id);
    wrap.append(labelNode, error);
    this.registry.set("customer_told", { input, error });
    this.nodes.push(wrap);
  }

  extendFields() {
    const days = this.ticket.decision_days || 15;
    const to = days < 30 ? 30 : 60;
    const note = to === 60 ? "办理时限将由 30 日延至 60 日，须经上级机构审批，并告知投诉人。"
      : `办理时限将由 ${days} 日延至 30 日，请在意见中写明延期理由。`;
    this.nodes.push(el("p", "action-note", note));
    this.customerTold("已告知投诉人延期情况（延期至 60 日时必须告知）");
  }

  appraisalFields() {
    this.field("appraisal_from", "鉴定开始日期", control("input", "appraisal_from", { type: "date", required: "" }),
      { wide: false });
    this.field("appraisal_to", "鉴定结束日期", control("input", "appraisal_to", { type: "date", required: "" }),
      { wide: false });
    this.customerTold("已告知投诉人外部鉴定期间不计入办理时限（必须）");
  }

  focusFirst() {
    const first = this.nodes.map((n) => n.querySelector("input, select, textarea")).find(Boolean);
    if (first) {
      first.focus();
    }
  }

  // --- reading and errors

  value(name) {
    const entry = this.registry.get(name);
    return entry ? entry.input.value : "";
  }

  fail(name, message) {
    const entry = this.registry.get(name);
    entry.error.textContent = message;
    entry.input.setAttribute("aria-invalid", "true");
    // A group of checkboxes is told as a whole; focus goes to its first box.
    return entry.input.tagName === "FIELDSET" ? entry.input.querySelector("input") || entry.input : entry.input;
  }

  clearErrors() {
    for (const { input, error } of this.registry.values()) {
      error.textContent = "";
      input.removeAttribute("aria-invalid");
    }
  }

  /** The ActionIn body, or null after marking what is missing (and focusing the first such field). */
  read(base) {
    this.clearErrors();
    const { action } = this.spec;
    const body = { ...base, work_item_id: this.spec.work_item_id ?? null };
    const missing = [];
    const opinion = this.value("opinion").trim();
    body.opinion = opinion || null;
    if (this.spec.needs_opinion && !opinion) {
      missing.push(this.fail("opinion", "请填写处理意见或原因"));
    }
    if (this.registry.has("target_org_id")) {
      body.target_org_id = this.value("target_org_id") ? Number(this.value("target_org_id")) : null;
      if (body.target_org_id === null) {
        missing.push(this.fail("target_org_id", "请选择机构"));
      }
    }
    if (this.registry.has("target_org_ids")) {
      const box = this.registry.get("target_org_ids").input;
      body.target_org_ids = [...box.querySelectorAll("input:checked")].map((i) => Number(i.value));
      if (!body.target_org_ids.length) {
        missing.push(this.fail("target_org_ids", "请至少选择一个会签单位"));
      }
    }
    if (this.registry.has("target_user_id")) {
      body.target_user_id = this.value("target_user_id") ? Number(this.value("target_user_id")) : null;
      if (body.target_user_id === null) {
        missing.push(this.fail("target_user_id", "请填写用户编号"));
      }
    }
    if (this.registry.has("merge_into_ticket_id")) {
      body.merge_into_ticket_id = this.mergeTarget ? this.mergeTarget.id : null;
      if (!this.mergeTarget) {
        missing.push(this.fail("merge_into_ticket_id", "请先查找并确认要合并到的工单"));
      }
    }
    if (action === "reply") {
      const told = fromLocalInput(this.value("reply.told_at"));
      const satisfied = this.value("reply.satisfied");
      body.reply = { method: this.value("reply.method"), told_at: told,
        result: this.value("reply.result").trim() || null,
        satisfied: satisfied === "" ? null : satisfied === "true" };
      if (!told) {
        missing.push(this.fail("reply.told_at", "请填写告知时间"));
      }
    }
    if (this.registry.has("customer_told")) {
      body.customer_told = this.registry.get("customer_told").input.checked;
    }
    if (action === "appraisal") {
      body.appraisal_from = this.value("appraisal_from") || null;
      body.appraisal_to = this.value("appraisal_to") || null;
      for (const name of ["appraisal_from", "appraisal_to"]) {
        if (!body[name]) {
          missing.push(this.fail(name, "请选择日期"));
        }
      }
    }
    if (action === "withdraw") {
      body.withdrawn_at = fromLocalInput(this.value("withdrawn_at"));
    }
    if (missing.length) {
      missing[0].focus();
      return null;
    }
    return body;
  }

  /** Places each server field error beside its field; returns the messages that belong to no field here. */
  showErrors(errors) {
    const unplaced = [];
    let first = null;
    for (const e of errors || []) {
      const name = String((e && e.field) || "").replace(/^body\./, "");
      const key = this.registry.has(name) ? name
        : [...this.registry.keys()].find((k) => k.startsWith(`${name}.`) || name.startsWith(`${k}.`));
      const message = String((e && e.message) || "");
      if (key) {
        const input = this.fail(key, message);
        first = first || input;
      } else if (message) {
        unplaced.push(message);
      }
    }
    if (first) {
      first.focus();
    }
    return unplaced;
  }
}
