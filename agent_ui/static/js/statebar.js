/**
 * The agent state bar: 签入 (queue login), 示闲, 示忙 with a reason, 签出, and the agent's current state as
 * the PBX reports it (agent.state events, whoever made the change: this page, the phone, a team lead).
 *
 * The buttons send commands (PUT/DELETE /api/telephony/agents/me/…); the state shown is only ever the
 * one the PBX reports, so a refused or unanswered command never shows a state the phone is not in.
 * Wrap-up (话后处理) shows the time spent in it: its length is a server setting the page is not told.
 */

import { ApiError, api } from "./api.js";
import { $, el, formatElapsed, stash } from "./dom.js";
import { queueLabel } from "./labels.js";
import { myState } from "./mystate.js";

const STATES = {
  logged_out: { label: "已签出", tone: "off" },
  ready: { label: "示闲", tone: "ready" },
  not_ready: { label: "示忙", tone: "busy" },
  ringing: { label: "振铃", tone: "ringing" },
  on_call: { label: "通话中", tone: "call" },
  busy: { label: "通话中（非队列）", tone: "call" },
  offline: { label: "话机离线", tone: "off" },
};
const WRAPUP = "话后处理";
const ACTIONS = {
  login: "签入",
  ready: "示闲",
  pause: "示忙",
  logout: "签出",
};

export class StateBar {
  constructor({ userId, ownInterface, supervises }) {
    this.key = `lianluo.agent.state.${userId}`;
    this.queuesKey = `lianluo.agent.queues.${userId}`;
    this.ownInterface = ownInterface;
    this.supervises = supervises;
    this.ui = {
      bar: $("statebar"),
      state: $("agent-state"),
      timer: $("agent-state-timer"),
      queues: $("agent-queues"),
      queueChoices: $("queue-choices"),
      message: $("state-message"),
      reason: $("pause-reason"),
      buttons: {
        login: $("state-login"),
        ready: $("state-ready"),
        pause: $("state-pause"),
        logout: $("state-logout"),
      },
    };
    this.current = stash.get(this.key);
    this.pending = false;
  }

  start() {
    const { buttons } = this.ui;
    buttons.login.addEventListener("click", () => this.login());
    buttons.ready.addEventListener("click", () => this.setReady(true));
    buttons.pause.addEventListener("click", () => this.setReady(false));
    buttons.logout.addEventListener("click", () => this.logout());
    this.ui.bar.hidden = false;
    this.render();
    window.setInterval(() => this.tick(), 1000);
    this.load();
  }

  /** The state the platform knows now (before any event arrives), and how long 话后处理 lasts. */
  async load() {
    const mine = await myState();
    if (!mine) {
      return; // no phone, or not allowed: the bar keeps what the events say
    }
    this.wrapupSeconds = mine.wrapup_seconds || 0;
    this.showQueueChoices(mine.available_queues || [], mine.queues || []);
    if (!this.current) {
      const wrapUp = mine.state === "wrap_up";
      const since = mine.seconds_in_state == null ? null : new Date(Date.now() - mine.seconds_in_state * 1000);
      this.current = {
        state: wrapUp ? "not_ready" : mine.state, reason: wrapUp ? WRAPUP : mine.reason || null,
        queues: mine.queues || [], at: since ? since.toISOString() : null,
      };
      stash.set(this.key, this.current);
    }
    this.render();
  }

  /** Whether an agent.state event is about this user's own phone. */
  isOwn(data) {
    if (this.ownInterface) {
      return data.interface === this.ownInterface;
    }
    return !this.supervises; // the hub sends an agent only their own state
  }

  handle(frame) {
    const data = frame.data || {};
    if (frame.type !== "agent.state" || !this.isOwn(data)) {
      return;
    }
    this.current = { state: data.state, reason: data.reason || null, queues: data.queues || [], at: frame.at };
    stash.set(this.key, this.current);
    this.render();
  }

  label() {
    const s = this.current;
    if (!s) {
      return { text: "状态未知", tone: "unknown" };
    }
    if (s.state === "not_ready" && s.reason === WRAPUP) {
      return { text: WRAPUP, tone: "wrapup" };
    }
    const known = STATES[s.state] || { label: s.state, tone: "unknown" };
    const text = s.state === "not_ready" && s.reason && s.reason !== "示忙" ? `示忙（${s.reason}）` : known.label;
    return { text, tone: known.tone };
  }

  render() {
    const { text, tone } = this.label();
    this.ui.state.textContent = text;
    this.ui.state.dataset.tone = tone;
    const queues = this.current && this.current.queues ? this.current.queues : [];
    this.ui.queues.textContent = queues.length ? `队列：${queues.map(queueLabel).join("、")}` : "";
    for (const [name, button] of Object.entries(this.ui.buttons)) {
      button.disabled = this.pending;
      button.setAttribute("aria-pressed", String(this.pressed(name)));
    }
    this.ui.reason.disabled = this.pending;
    this.tick();
  }

  pressed(name) {
    const s = this.current;
    if (!s) {
      return false;
    }
    return (name === "ready" && s.state === "ready") || (name === "pause" && s.state === "not_ready")
      || (name === "logout" && s.state === "logged_out");
  }

  tick() {
    const s = this.current;
    const since = s && s.at ? Date.parse(s.at) : NaN;
    if (Number.isNaN(since)) {
      this.ui.timer.textContent = "";
      return;
    }
    const seconds = (Date.now() - since) / 1000;
    const elapsed = formatElapsed(seconds);
    if (!(s.state === "not_ready" && s.reason === WRAPUP)) {
      this.ui.timer.textContent = elapsed;
      return;
    }
    const left = (this.wrapupSeconds || 0) - seconds;
    this.ui.timer.textContent = left > 0 ? `已用 ${elapsed} · 剩余 ${formatElapsed(left)}` : `已用 ${elapsed}`;
  }

  say(text, tone) {
    this.ui.message.textContent = text;
    this.ui.message.dataset.tone = tone || "info";
  }

  async send(action, request) {
    if (this.pending) {
      return;
    }
    this.pending = true;
    this.render();
    this.say(`正在${ACTIONS[action]}…`, "info");
    try {
      await request();
      this.say(`${ACTIONS[action]}指令已执行`, "ok");
    } catch (err) {
      this.say(failure(action, err), "error");
    } finally {
      this.pending = false;
      this.render();
    }
  }

  /** One checkbox per queue the deployment lets agents log in to; ticked: the queues the agent is in now, else
   * the ones they chose last time on this browser, else all of them. */
  showQueueChoices(available, current) {
    const remembered = remembers(this.queuesKey);
    const ticked = new Set(current.length ? current : remembered || available);
    this.ui.queueChoices.replaceChildren(...available.map((name) => {
      const label = el("label");
      const box = el("input");
      box.type = "checkbox";
      box.name = "queue";
      box.value = name;
      box.checked = ticked.has(name);
      label.append(box, ` ${queueLabel(name)}`);
      return label;
    }));
  }

  checkedQueues() {
    return [...this.ui.queueChoices.querySelectorAll("input[name=queue]:checked")].map((box) => box.value);
  }

  login() {
    const queues = this.checkedQueues();
    if (!queues.length) {
      this.say(this.ui.queueChoices.childElementCount ? "请至少选择一个队列再签入" : "尚未取得可签入的队列，请稍后重试",
        "error");
      return;
    }
    this.ui.queueChoices.closest("details")?.removeAttribute("open");
    try {
      window.localStorage.setItem(this.queuesKey, JSON.stringify(queues));
    } catch {
      // private mode: the choice is simply not remembered
    }
    this.send("login", () => api("/api/telephony/agents/me/queues", { method: "PUT", body: { queues } }));
  }

  setReady(ready) {
    const body = ready ? { ready: true } : { ready: false, reason: this.ui.reason.value };
    this.send(ready ? "ready" : "pause", () => api("/api/telephony/agents/me/state", { method: "PUT", body }));
  }

  logout() {
    this.send("logout", () => api("/api/telephony/agents/me/queues", { method: "DELETE" }));
  }

  /** Keyboard shortcuts of the bar; true when the key was one of them. */
  shortcut(code) {
    const map = { KeyI: () => this.login(), KeyR: () => this.setReady(true), KeyB: () => this.setReady(false),
      KeyO: () => this.logout() };
    if (!map[code] || this.ui.bar.hidden) {
      return false;
    }
    map[code]();
    return true;
  }
}

function remembers(key) {
  try {
    const kept = JSON.parse(window.localStorage.getItem(key) || "null");
    return Array.isArray(kept) && kept.length ? kept : null;
  } catch {
    return null;
  }
}

function failure(action, err) {
  const name = ACTIONS[action];
  if (!(err instanceof ApiError)) {
    return `${name}失败，请稍后重试。`;
  }
  if (err.status === 503) {
    return `${name}未执行：电话系统暂不可用（${err.detail}），请稍后重试。`;
  }
  if (err.status === 0) {
    return `${name}未执行：${err.detail}`;
  }
  return `${name}失败：${err.detail}`;
}
