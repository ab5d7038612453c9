/**
 * Call controls in the call card — 挂断 (Alt+H), 保持/取消保持 (Alt+P), 转接 (Alt+T): direct or consultative, to a
 * queue, a colleague's extension or an outside number, with 完成转接 / 取消咨询 while consulting — and click-to-call
 * (拨打) for the phone numbers the console shows.
 *
 * Each button sends one command (POST /api/telephony/…). What the card shows is only what the PBX then reports on
 * the websocket (保持中 after call.held, 已转接 after call.transferred), so a refused command changes nothing but the
 * status line, which carries the phone system's own words (409) or says it is unavailable (503). A number the
 * console shows masked is dialled by reference (whose number, which field), never by its digits.
 */

import { ApiError, api, segment } from "./api.js";
import { $, el } from "./dom.js";
import { queueLabel } from "./labels.js";
import { myState } from "./mystate.js";
import { setDialler } from "./panel.js";

const LIVE = new Set(["call.answered", "call.held", "call.resumed"]);
const OVER = new Set(["call.transferred", "call.abandoned", "call.ended"]);
const TARGET_HINTS = { extension: "同事分机号，如 1002", number: "外线号码，如 13800138000" };
// Asterisk's originate reasons, for the agent's own phone (the first leg of a click-to-call).
const ORIGINATE_FAILED = { 0: "话机不可用", 1: "话机已挂断", 3: "您的话机未接听", 5: "您的话机忙", 8: "线路拥塞" };

/** The words of a failed request: the field errors of a 422, the problem's detail otherwise. */
export function problemText(err) {
  if (!(err instanceof ApiError)) {
    return "请稍后重试";
  }
  if (err.status === 422 && err.errors.length) {
    return err.errors.map((e) => String(e.message || "")).filter(Boolean).join("；") || err.detail;
  }
  return err.detail || err.title;
}

export class CallControl {
  constructor() {
    this.ui = {
      bar: $("call-controls"),
      hangup: $("cc-hangup"),
      hold: $("cc-hold"),
      holdLabel: $("cc-hold-label"),
      transfer: $("cc-transfer"),
      status: $("cc-status"),
      form: $("cc-transfer-form"),
      targetType: $("cc-target-type"),
      queue: $("cc-queue"),
      target: $("cc-target"),
      targetLabel: $("cc-target-label"),
      go: $("cc-transfer-go"),
      close: $("cc-transfer-close"),
      formError: $("cc-transfer-error"),
      consult: $("cc-consult"),
      consultTarget: $("cc-consult-target"),
      complete: $("cc-complete"),
      cancel: $("cc-cancel"),
    };
    this.available = false; // the user has a phone and may control calls
    this.call = null; // the screen pop's call: { call_id, node, type, direction }
    this.pending = false; // a command is on its way
    this.consulting = null; // { callId, target } while an attended transfer's consultation lasts
    this.dialling = null; // the click-to-call under way: { label, customerId, number, commandId, callId }
  }

  /** Controls and dial buttons appear only for a user the PBX can act for (a phone, and call control). */
  async start() {
    const mine = await myState();
    if (!mine) {
      return false;
    }
    this.available = true;
    const { ui } = this;
    ui.queue.replaceChildren(...(mine.available_queues || []).map((name) => {
      const option = el("option", null, queueLabel(name));
      option.value = name;
      return option;
    }));
    ui.hangup.addEventListener("click", () => this.hangup());
    ui.hold.addEventListener("click", () => this.toggleHold());
    ui.transfer.addEventListener("click", () => this.toggleForm());
    ui.close.addEventListener("click", () => this.closeForm(true));
    ui.targetType.addEventListener("change", () => this.showTargetField());
    for (const radio of ui.form.querySelectorAll("input[name='cc-kind']")) {
      radio.addEventListener("change", () => this.showTargetField());
    }
    ui.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submitTransfer();
    });
    ui.form.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        this.closeForm(true);
      }
    });
    ui.complete.addEventListener("click", () => this.finishConsultation(true));
    ui.cancel.addEventListener("click", () => this.finishConsultation(false));
    document.addEventListener("keydown", (event) => this.onKey(event));
    setDialler((request) => this.dial(request));
    this.showTargetField();
    this.render();
    return true;
  }

  // --- what the screen pop tells us

  /** The call the card shows (or null); called whenever its state changes. */
  show(call) {
    if (!call || !this.call || call.call_id !== this.call.call_id) {
      this.closeForm(false);
      this.say("");
    }
    this.call = call ? { call_id: call.call_id, node: call.node, type: call.type, direction: call.direction } : null;
    this.render();
  }

  /** Every call event for this user, before the screen pop applies it. */
  observe(frame) {
    const data = frame.data || {};
    const dialling = this.dialling;
    if (frame.type === "call.offered" && data.direction === "outbound" && dialling && !dialling.callId
        && (!dialling.commandId || dialling.commandId === data.command_id)) {
      dialling.callId = data.call_id; // this page's click-to-call, even before its POST has answered
      dialling.commandId = data.command_id;
    } else if (frame.type === "call.originate_result" && dialling && data.command_id === dialling.commandId) {
      this.say(data.success ? `已接起，正在呼叫 ${dialling.label}…`
        : `外呼未接通：${ORIGINATE_FAILED[data.reason] || data.reason_text || "话机未接通"}`);
    }
    if (!this.call || data.call_id !== this.call.call_id) {
      return;
    }
    if (frame.type === "call.held" || frame.type === "call.resumed" || frame.type === "call.answered") {
      this.say(""); // what the line said is now shown by the card's state
    }
    if (this.consulting && this.consulting.callId === data.call_id
        && (OVER.has(frame.type) || frame.type === "call.resumed")) {
      // completed (transferred), given up by the PBX (the colleague hung up or did not answer), or over
      this.consulting = null;
    }
    if (frame.type === "call.ended" && dialling && dialling.callId === data.call_id) {
      this.dialling = null;
      if (!data.answered) {
        this.say(data.hangup_cause === 17 ? "对方忙" : data.hangup_cause === 19 ? "对方无人接听" : "外呼未接通");
      }
    }
  }

  /** What this page dialled, for the call card of an outbound call. */
  dialFor(callId) {
    const d = this.dialling;
    return d && d.callId === callId ? { label: d.label, customerId: d.customerId, number: d.number } : null;
  }

  // --- click-to-call

  /** ``body`` is {number} or {ref}; ``label`` names the number as the page shows it (masked). Resolves to a
   * sentence for the place the button sits. */
  async dial({ body, label, customerId = null, number = null }) {
    if (this.dialling && this.dialling.sending) {
      return "正在外呼，请稍候";
    }
    const dialling = { label, customerId, number, commandId: null, callId: null, sending: true };
    this.dialling = dialling;
    try {
      const out = await api("/api/telephony/dial", { method: "POST", body });
      dialling.commandId = dialling.commandId || out.command_id;
      return `正在呼叫您的话机，接起后拨打 ${label}`;
    } catch (err) {
      if (this.dialling === dialling) {
        this.dialling = null;
      }
      return `外呼未执行：${problemText(err)}`;
    } finally {
      dialling.sending = false;
    }
  }

  // --- commands on the call

  async command(verb, path, body, done) {
    const call = this.call;
    if (!call || this.pending) {
      return;
    }
    this.pending = true;
    this.render();
    this.say(`正在${verb}…`);
    try {
      await api(`/api/telephony/calls/${segment(call.call_id)}/${path}`, {
        method: "POST", body: { ...body, node: call.node || undefined } });
      this.say(done ? done() : "");
    } catch (err) {
      this.say(`${verb}未执行：${problemText(err)}`);
    } finally {
      this.pending = false;
      this.render();
    }
  }

  hangup() {
    this.command("挂断", "hangup", {}, () => "已挂断");
  }

  toggleHold() {
    const on = !(this.call && this.call.type === "call.held");
    // The card changes when the PBX reports Hold/Unhold; until then the line says it is asked for.
    this.command(on ? "保持" : "取消保持", "hold", { on }, () => (on ? "已请话机保持…" : "已请话机恢复通话…"));
  }

  submitTransfer() {
    const { ui } = this;
    const kind = ui.form.querySelector("input[name='cc-kind']:checked").value;
    const type = ui.targetType.value;
    const body = { kind };
    let target;
    if (type === "queue") {
      body.queue = ui.queue.value;
      target = queueLabel(ui.queue.value);
    } else {
      const value = ui.target.value.trim();
      if (!value) {
        ui.formError.textContent = type === "number" ? "请输入外线号码" : "请输入同事分机号";
        ui.target.focus();
        return;
      }
      body[type] = value;
      target = value;
    }
    ui.formError.textContent = "";
    const callId = this.call && this.call.call_id;
    this.command(kind === "attended" ? "咨询" : "转接", "transfer", body, () => {
      this.closeForm(false);
      if (kind === "attended") {
        this.consulting = { callId, target };
        return `正在咨询 ${target}：对方接听后可完成转接或取消咨询`;
      }
      return `已转接至 ${target}`;
    });
  }

  finishConsultation(complete) {
    this.command(complete ? "完成转接" : "取消咨询", complete ? "transfer/complete" : "transfer/cancel", {}, () => {
      this.consulting = null;
      return complete ? "已完成转接" : "已取消咨询，回到原通话";
    });
  }

  // --- the transfer form

  toggleForm() {
    if (this.ui.form.hidden) {
      this.ui.form.hidden = false;
      this.ui.transfer.setAttribute("aria-expanded", "true");
      this.showTargetField();
      (this.ui.targetType.value === "queue" ? this.ui.queue : this.ui.target).focus();
    } else {
      this.closeForm(true);
    }
  }

  closeForm(refocus) {
    const { ui } = this;
    if (ui.form.hidden) {
      return;
    }
    ui.form.hidden = true;
    ui.formError.textContent = "";
    ui.transfer.setAttribute("aria-expanded", "false");
    if (refocus && !ui.transfer.disabled) {
      ui.transfer.focus();
    }
  }

  /** A queue only for a direct transfer: a consultation needs a person who answers. */
  showTargetField() {
    const { ui } = this;
    const attended = ui.form.querySelector("input[name='cc-kind']:checked").value === "attended";
    const queueOption = ui.targetType.querySelector("option[value='queue']");
    queueOption.disabled = attended || !ui.queue.options.length;
    if (queueOption.disabled && ui.targetType.value === "queue") {
      ui.targetType.value = "extension";
    }
    const type = ui.targetType.value;
    ui.queue.hidden = type !== "queue";
    ui.target.hidden = type === "queue";
    ui.targetLabel.textContent = type === "queue" ? "队列" : type === "number" ? "外线号码" : "同事分机号";
    ui.target.placeholder = TARGET_HINTS[type] || "";
    ui.go.textContent = attended ? "开始咨询" : "转接";
  }

  // --- state

  render() {
    const { ui, call } = this;
    ui.bar.hidden = !(this.available && call);
    if (ui.bar.hidden) {
      ui.form.hidden = true;
      return;
    }
    const live = LIVE.has(call.type);
    // An outbound call may be given up while it rings; an inbound one rings the agent and is theirs to take.
    const ringingOut = call.type === "call.agent_ringing" && call.direction === "outbound";
    const consulting = Boolean(this.consulting && this.consulting.callId === call.call_id);
    const free = !this.pending;
    ui.hangup.disabled = !free || consulting || !(live || ringingOut);
    ui.hold.disabled = !free || consulting || !live;
    ui.transfer.disabled = !free || consulting || !live;
    const held = call.type === "call.held" && !consulting;
    ui.holdLabel.textContent = held ? "取消保持" : "保持";
    ui.hold.setAttribute("aria-pressed", String(held));
    ui.consult.hidden = !consulting;
    ui.consultTarget.textContent = consulting ? this.consulting.target : "";
    ui.complete.disabled = !free;
    ui.cancel.disabled = !free;
    if (!live || consulting || OVER.has(call.type)) {
      this.closeForm(false);
    }
  }

  say(text) {
    this.ui.status.textContent = text;
  }

  onKey(event) {
    if (!event.altKey || event.ctrlKey || event.metaKey || event.shiftKey || this.ui.bar.hidden) {
      return;
    }
    const button = { KeyH: this.ui.hangup, KeyP: this.ui.hold, KeyT: this.ui.transfer }[event.code];
    if (button) {
      event.preventDefault();
      if (!button.disabled) {
        button.click();
      }
    }
  }
}
