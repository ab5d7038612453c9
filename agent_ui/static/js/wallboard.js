/**
 * 班长监控墙: the supervisor's live view of queues and agents.
 *
 * The figures come from GET /api/wallboard (scoped to the supervisor's org subtree). The page keeps a
 * websocket to /ws and re-reads the snapshot after call and agent events, at most every 500 ms; times
 * (in state, on the call, longest wait) tick locally each second between reads. The hub sends a supervisor
 * every call joining or leaving the queues its agents serve, so the events alone keep the waiting calls
 * right; a slow safety re-read (60 s) brings in what no event of the subtree carries, such as other orgs'
 * agents of a shared queue changing state or ending their calls. Row actions: force ready / not ready
 * (PUT /api/telephony/agents/{id}/state) and listen / whisper on a call (POST …/calls/{id}/spy).
 */

import { ApiError, api, segment } from "./api.js";
import { el } from "./dom.js";
import { logout as topLogout, showUser as showTopUser } from "./topbar.js";
import { StateChart } from "./wallboard/chart.js";
import {
  STATES,
  callStatusLabel,
  clock,
  directionLabel,
  percent,
  queueLabel,
  seconds,
  stateLabel,
  timeOfDay,
} from "./wallboard/format.js";
import { LiveLink } from "./wallboard/live.js";

const SUPERVISE = "agent.supervise";
const MIN_REFRESH_MS = 500;
const FALLBACK_REFRESH_MS = 60_000;
const LIVE_STREAMS = ["calls", "agents"];

const $ = (id) => document.getElementById(id);
const ui = {
  main: $("main"),
  status: $("board-status"),
  denied: $("access-denied"),
  shortcutRefresh: $("shortcut-refresh"),
  body: $("board-body"),
  tiles: $("queue-tiles"),
  queuesNote: $("queues-note"),
  agentsBody: $("agents-body"),
  agentsCount: $("agents-count"),
  agentsEmpty: $("agents-empty"),
  actionsCol: $("actions-col"),
  result: $("action-result"),
  live: $("live"),
  liveText: $("live-text"),
  updated: $("updated"),
  userName: $("user-name"),
  logout: $("logout"),
  chart: $("state-chart"),
  chartSummary: $("chart-summary"),
};

let canSupervise = false;
let chart = null;
let lastBoard = null;
let link = null;
let tickers = []; // [{ el, base, format }]: figures that grow by one each second
let fetchedAt = 0;

function ticking(node, base, format) {
  if (base !== null && base !== undefined) {
    tickers.push({ el: node, base, format });
  }
  node.textContent = format(base);
  return node;
}

function tick() {
  const elapsed = (performance.now() - fetchedAt) / 1000;
  for (const t of tickers) {
    t.el.textContent = t.format(t.base + elapsed);
  }
}

// --- who am I, logout, shortcuts

function showUser(me) {
  showTopUser(me);
  canSupervise = Array.isArray(me.permissions) && me.permissions.includes(SUPERVISE);
  ui.actionsCol.hidden = !canSupervise;
}

function logout() {
  topLogout(() => link && link.stop());
}

function onShortcut(event) {
  if (!event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) {
    return;
  }
  if (event.code === "KeyR") {
    event.preventDefault();
    refresher.now();
  } else if (event.code === "KeyL") {
    event.preventDefault();
    logout();
  }
}

// --- queue tiles

function figure(label, value, { key, hot = false } = {}) {
  const box = el("div", hot ? "figure figure-hot" : "figure");
  box.dataset.figure = key;
  const dd = el("dd");
  if (value instanceof Node) {
    dd.append(value);
  } else {
    dd.textContent = value;
  }
  box.append(el("dt", null, label), dd);
  return box;
}

function stateChips(byState) {
  const list = el("ul", "tile-states");
  list.setAttribute("aria-label", "坐席状态分布");
  const known = STATES.filter((s) => byState[s]);
  const other = Object.keys(byState).filter((s) => !STATES.includes(s));
  for (const state of [...known, ...other]) {
    const chip = el("li", `state state-${state}`, `${stateLabel(state)} ${byState[state]}`);
    chip.dataset.state = state;
    list.append(chip);
  }
  return list;
}

function queueTile(q, slSeconds) {
  const tile = el("li", "tile");
  tile.dataset.queue = q.queue;
  tile.dataset.alert = String(q.waiting > 0 && q.longest_wait_seconds > slSeconds);
  tile.setAttribute("aria-label", `队列 ${queueLabel(q.queue)}`);
  const head = el("div", "tile-head");
  head.append(el("h3", "tile-name", queueLabel(q.queue)), el("span", "tile-code", q.queue));
  const longest = el("span");
  ticking(longest, q.waiting > 0 ? q.longest_wait_seconds : null, (s) => (s === null ? "—" : clock(s)));
  const figures = el("dl", "tile-figures");
  figures.append(
    figure("排队数", q.waiting, { key: "waiting", hot: q.waiting > 0 }),
    figure("最长等待", longest, { key: "longest_wait", hot: q.waiting > 0 }),
    figure("进线", q.offered, { key: "offered" }),
    figure("接通", q.answered, { key: "answered" }),
    figure("放弃", q.abandoned, { key: "abandoned", hot: q.abandoned > 0 }),
    figure(`服务水平(${slSeconds}秒)`, percent(q.service_level), { key: "service_level" }),
    figure("平均应答速度", seconds(q.asa_seconds), { key: "asa" }),
    figure("平均处理时长", seconds(q.aht_seconds), { key: "aht" }),
  );
  tile.append(head, figures, stateChips(q.agents_by_state || {}));
  return tile;
}

// --- agents table

function actionButton(label, action, agent, { disabled = false, call = null } = {}) {
  const button = el("button", "btn btn-ghost btn-sm", label);
  button.type = "button";
  button.dataset.action = action;
  button.dataset.userId = String(agent.user_id);
  button.dataset.name = agent.display_name;
  button.dataset.key = `${action}:${agent.user_id}`;
  if (call) {
    button.dataset.callId = call;
  }
  button.disabled = disabled;
  button.setAttribute("aria-label", `${label}：${agent.display_name}`);
  return button;
}

function callCell(agent) {
  const cell = el("td", "call-cell");
  const call = agent.current_call;
  if (!call) {
    cell.textContent = "—";
    return cell;
  }
  const parts = [directionLabel(call.direction)];
  if (call.queue) {
    parts.push(queueLabel(call.queue));
  }
  parts.push(callStatusLabel(call.status));
  cell.append(el("span", null, `${parts.join(" · ")} `));
  cell.append(ticking(el("span", "nowrap"), call.seconds, clock));
  cell.dataset.status = call.status;
  return cell;
}

function agentRow(agent) {
  const row = el("tr");
  row.dataset.userId = String(agent.user_id);
  row.dataset.state = agent.state;
  const who = el("td");
  who.append(el("span", "agent-name", agent.display_name),
    el("span", "agent-ext", agent.interface.split("/").pop()));
  const state = el("td");
  state.append(el("span", `state state-${agent.state}`, stateLabel(agent.state, agent.reason)));
  const inState = ticking(el("td", "num"), agent.seconds_in_state, clock);
  row.append(who, state, inState, el("td", "num", agent.handled), callCell(agent));
  if (canSupervise) {
    const inactive = agent.state === "logged_out" || agent.state === "offline";
    const talking = agent.current_call && agent.current_call.status === "talking" ? agent.current_call.call_id : null;
    const actions = el("div", "actions");
    actions.append(
      actionButton("强制示闲", "ready", agent, { disabled: inactive || agent.state === "ready" }),
      actionButton("强制示忙", "not_ready", agent, { disabled: inactive || agent.state === "not_ready" }),
      actionButton("监听", "listen", agent, { disabled: !talking, call: talking }),
      actionButton("密语", "whisper", agent, { disabled: !talking, call: talking }),
    );
    const cell = el("td");
    cell.append(actions);
    row.append(cell);
  }
  return row;
}

// --- the snapshot

function render(board) {
  const focused = document.activeElement && document.activeElement.dataset
    ? document.activeElement.dataset.key : undefined;
  lastBoard = board;
  tickers = [];
  fetchedAt = performance.now();
  const sl = Math.round(board.service_level_seconds);
  ui.queuesNote.textContent = `今日（${board.day}）累计，零点清零`;
  ui.tiles.replaceChildren(...board.queues.map((q) => queueTile(q, sl)));
  if (!board.queues.length) {
    ui.tiles.replaceChildren(el("li", "status-empty", "本机构坐席今日尚未服务任何队列。"));
  }
  ui.agentsBody.replaceChildren(...board.agents.map(agentRow));
  ui.agentsCount.textContent = `（${board.agents.length} 人）`;
  ui.agentsEmpty.hidden = board.agents.length > 0;
  if (focused) {
    const again = ui.agentsBody.querySelector(`[data-key="${CSS.escape(focused)}"]`);
    if (again && !again.disabled) {
      again.focus();
    }
  }
  if (chart) {
    chart.show(board.queues);
  }
  ui.updated.textContent = `更新于 ${timeOfDay(new Date(board.at))}`;
}

function deny() {
  // The server's detail names a permission code; the fixed message in the page says it in plain words.
  if (link) {
    link.stop();
  }
  ui.body.hidden = true;
  ui.status.textContent = "";
  ui.denied.hidden = false;
  ui.live.hidden = true;
  ui.shortcutRefresh.hidden = true;
}

async function load() {
  try {
    const board = await api("/api/wallboard");
    ui.status.textContent = "";
    ui.status.classList.remove("error");
    ui.body.hidden = false;
    render(board);
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) {
      deny();
      return false;
    }
    ui.status.classList.add("error");
    ui.status.textContent = `监控数据刷新失败：${err instanceof ApiError ? err.message : "请稍后重试"}`;
    return true;
  } finally {
    ui.main.setAttribute("aria-busy", "false");
  }
}

/** Re-reads the snapshot: at once if the last read is old enough, else once when it is; never two at a time. */
const refresher = {
  last: 0,
  timer: null,
  running: false,
  again: false,
  denied: false,

  request() {
    if (this.denied || this.timer) {
      return;
    }
    if (this.running) {
      this.again = true;
      return;
    }
    const wait = Math.max(0, this.last + MIN_REFRESH_MS - performance.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.run();
    }, wait);
  },

  now() {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.running) {
      this.again = true;
    } else {
      this.run();
    }
  },

  async run() {
    this.running = true;
    this.last = performance.now();
    const allowed = await load();
    this.running = false;
    if (!allowed) {
      this.denied = true;
      return;
    }
    if (this.again) {
      this.again = false;
      this.request();
    }
  },
};

// --- row actions

function showResult(text, ok) {
  ui.result.className = `action-result ${ok ? "ok" : "error"}`;
  ui.result.setAttribute("role", ok ? "status" : "alert");
  ui.result.textContent = text;
}

function problemText(err) {
  if (err instanceof ApiError) {
    if (err.title && err.detail && err.title !== err.detail) {
      return `${err.title}：${err.detail}`;
    }
    return err.detail || err.title || err.message;
  }
  return "操作失败，请稍后重试。";
}

const ACTIONS = {
  ready: {
    busy: "正在强制示闲…",
    send: (b) => api(`/api/telephony/agents/${segment(b.dataset.userId)}/state`, {
      method: "PUT", body: { ready: true },
    }),
    done: (name) => `已将 ${name} 强制示闲。`,
    failed: (name) => `强制 ${name} 示闲失败`,
  },
  not_ready: {
    busy: "正在强制示忙…",
    send: (b) => api(`/api/telephony/agents/${segment(b.dataset.userId)}/state`, {
      method: "PUT", body: { ready: false, reason: "示忙" },
    }),
    done: (name) => `已将 ${name} 强制示忙。`,
    failed: (name) => `强制 ${name} 示忙失败`,
  },
  listen: {
    busy: "正在发起监听…",
    send: (b) => api(`/api/telephony/calls/${segment(b.dataset.callId)}/spy`, {
      method: "POST", body: { mode: "listen" },
    }),
    done: (name) => `已发起对 ${name} 通话的监听，请接听您的分机。`,
    failed: (name) => `监听 ${name} 的通话失败`,
  },
  whisper: {
    busy: "正在发起密语…",
    send: (b) => api(`/api/telephony/calls/${segment(b.dataset.callId)}/spy`, {
      method: "POST", body: { mode: "whisper" },
    }),
    done: (name) => `已发起对 ${name} 的密语，请接听您的分机；只有坐席能听到您。`,
    failed: (name) => `向 ${name} 密语失败`,
  },
};

async function onAction(event) {
  const button = event.target.closest("button[data-action]");
  if (!button || button.disabled) {
    return;
  }
  const action = ACTIONS[button.dataset.action];
  const name = button.dataset.name;
  button.disabled = true;
  showResult(action.busy, true);
  try {
    await action.send(button);
    showResult(action.done(name), true);
  } catch (err) {
    showResult(`${action.failed(name)}。${problemText(err)}`, false);
  } finally {
    button.disabled = false; // the next snapshot redraws the row anyway
    refresher.request();
  }
}

// --- start

function setLive(state) {
  ui.live.dataset.state = state;
  ui.liveText.textContent = { connecting: "正在连接…", live: "实时", down: "连接中断，正在重连…" }[state] || state;
}

async function start() {
  document.addEventListener("keydown", onShortcut);
  ui.logout.addEventListener("click", logout);
  ui.agentsBody.addEventListener("click", onAction);
  try {
    showUser(await api("/api/auth/me"));
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) {
      ui.userName.textContent = "";
    }
  }
  const allowed = await load();
  refresher.last = performance.now();
  if (!allowed) {
    refresher.denied = true;
    return;
  }
  try {
    chart = await StateChart.create(ui.chart, ui.chartSummary);
    chart.show(lastBoard.queues);
  } catch {
    ui.chart.replaceChildren(el("p", "status", "图表组件未能加载，队列与坐席数据不受影响。"));
  }
  link = new LiveLink({
    streams: LIVE_STREAMS,
    onEvent: (frame) => {
      if (LIVE_STREAMS.includes(frame.stream)) {
        refresher.request();
      }
    },
    onStatus: setLive,
    onResumed: () => refresher.request(),
  });
  link.start();
  setInterval(tick, 1000);
  setInterval(() => refresher.request(), FALLBACK_REFRESH_MS);
}

start();
