/**
 * 可办理操作: one button per action the server allows the user on this ticket (GET …/allowed-actions), and
 * the inline form an action needs — an opinion (required when the action says so), a target org (转办), the
 * units asked (会签), the ticket to merge into (合并), the reply (答复), the extension or appraisal facts, the
 * withdrawal date — sent as POST /api/tickets/{id}/actions with the version the user read.
 *
 * A 409 carrying ``current`` means someone acted first: the page says so and re-reads the ticket. Any other
 * refusal (403, 409, 422) is shown in the form, field errors beside their fields.
 */

import { ApiError, api, segment } from "../api.js";
import { el } from "../dom.js";
import { ActionFields } from "./fields.js";

export class ActionPanel {
  /** ``ui``: buttons, holder (the form), result, empty; ``onDone()`` after an action, ``onStale()`` on 409. */
  constructor({ ui, context, onDone, onStale }) {
    this.ui = ui;
    this.context = context;
    this.onDone = onDone;
    this.onStale = onStale;
    this.ticket = null;
    this.version = null;
    this.spec = null;
    this.fields = null;
    this.sending = false;
    ui.holder.addEventListener("submit", (event) => this.submit(event));
    ui.holder.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        this.close({ focus: true });
      }
    });
  }

  /** A different ticket: forget the last result too. */
  reset() {
    this.close();
    this.say("");
  }

  formOpen() {
    return !this.ui.holder.hidden;
  }

  say(text, tone = "ok") {
    this.ui.result.textContent = text;
    this.ui.result.dataset.tone = tone;
    this.ui.result.setAttribute("role", tone === "error" || tone === "warn" ? "alert" : "status");
  }

  /** The buttons for ``allowed`` (or why there are none: ``error`` when the list could not be read). */
  show(ticket, allowed, error) {
    this.close();
    this.ticket = ticket;
    this.version = allowed && allowed.version ? allowed.version : ticket.version;
    const actions = allowed && Array.isArray(allowed.actions) ? allowed.actions : [];
    this.context.learn(allowed ? allowed.target_orgs : []);
    this.ui.buttons.replaceChildren(...actions.map((spec, i) => this.button(spec, i)));
    if (error) {
      this.ui.empty.textContent = `暂时无法读取可办理的操作（${error instanceof ApiError ? error.detail : "网络错误"}）。`;
    } else {
      this.ui.empty.textContent = actions.length ? "" : "您对该工单暂无可办理的操作。";
    }
  }

  button(spec, index) {
    const button = el("button", index === 0 ? "btn btn-primary" : "btn btn-ghost", spec.label || spec.action);
    button.type = "button";
    button.dataset.action = spec.action;
    button.dataset.key = `${spec.action}:${spec.work_item_id ?? ""}`;
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", this.ui.holder.id);
    button.addEventListener("click", () => this.open(spec, button));
    return button;
  }

  open(spec, button) {
    if (this.spec && this.spec === spec) {
      this.close({ focus: true });
      return;
    }
    this.close();
    this.say("");
    this.spec = spec;
    this.opener = button;
    button.setAttribute("aria-expanded", "true");
    button.setAttribute("aria-pressed", "true");
    this.fields = new ActionFields(spec, this.ticket, this.context);
    const heading = el("h4", "action-form-title", `办理：${spec.label || spec.action}`);
    heading.id = "action-form-title";
    const buttons = el("div", "action-form-buttons");
    const send = el("button", "btn btn-primary", `提交${spec.label || ""}`);
    send.type = "submit";
    send.id = "action-submit";
    const cancel = el("button", "btn btn-ghost", "取消");
    cancel.type = "button";
    cancel.addEventListener("click", () => this.close({ focus: true }));
    buttons.append(send, cancel, el("span", "key-hint", "Esc 取消"));
    this.message = el("p", "form-message");
    this.message.setAttribute("role", "alert");
    this.ui.holder.setAttribute("aria-labelledby", heading.id);
    this.ui.holder.replaceChildren(heading, ...this.fields.nodes, this.message, buttons);
    this.ui.holder.hidden = false;
    this.fields.focusFirst();
  }

  close({ focus = false } = {}) {
    const opener = this.opener;
    this.spec = null;
    this.fields = null;
    this.opener = null;
    this.ui.holder.hidden = true;
    this.ui.holder.replaceChildren();
    for (const b of this.ui.buttons.querySelectorAll("button[aria-expanded]")) {
      b.setAttribute("aria-expanded", "false");
      b.removeAttribute("aria-pressed");
    }
    if (focus && opener && opener.isConnected) {
      opener.focus();
    }
  }

  async submit(event) {
    event.preventDefault();
    if (!this.spec || this.sending) {
      return;
    }
    const spec = this.spec;
    const fields = this.fields;
    this.message.textContent = "";
    const body = fields.read({ action: spec.action, version: this.version });
    if (!body) {
      return; // the fields said what is missing, beside themselves
    }
    const send = this.ui.holder.querySelector("#action-submit");
    this.sending = true;
    send.disabled = true;
    this.ui.holder.setAttribute("aria-busy", "true");
    try {
      await api(`/api/tickets/${segment(this.ticket.id)}/actions`, { method: "POST", body });
      this.close();
      this.say(`已办理：${spec.label || spec.action}`, "ok");
      await this.onDone();
    } catch (err) {
      if (this.fields !== fields) {
        return; // the form was closed or replaced meanwhile
      }
      this.refused(err);
    } finally {
      this.sending = false;
      if (send.isConnected) {
        send.disabled = false;
      }
      this.ui.holder.removeAttribute("aria-busy");
    }
  }

  refused(err) {
    if (!(err instanceof ApiError)) {
      this.message.textContent = "提交失败，请稍后重试。";
      return;
    }
    if (err.status === 409 && err.problem && err.problem.current) {
      this.close();
      this.say("工单已被他人更新，已刷新。请核对最新内容后再办理。", "warn");
      this.onStale();
      return;
    }
    if (err.status === 401) {
      return; // api() is taking the browser to the login page
    }
    const unplaced = this.fields.showErrors(err.errors);
    const lines = [err.title && err.title !== err.detail ? `${err.title}：${err.detail}` : err.detail];
    if (unplaced.length) {
      lines.push(...unplaced);
    }
    this.message.textContent = lines.filter(Boolean).join("；");
  }
}
