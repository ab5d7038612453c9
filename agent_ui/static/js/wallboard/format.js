/** Chinese labels and number formats of the wallboard: queue names, agent states, durations, ratios. */

export { queueLabel } from "../labels.js";

// Order of the states in tiles and the chart: who can take a call first.
export const STATES = ["ready", "ringing", "on_call", "busy", "wrap_up", "not_ready", "offline", "logged_out"];

const STATE_LABELS = {
  ready: "示闲",
  ringing: "振铃",
  on_call: "通话中",
  busy: "忙碌",
  wrap_up: "话后处理",
  not_ready: "示忙",
  offline: "离线",
  logged_out: "签出",
};

export const STATE_COLORS = {
  ready: "#1f7a3f",
  ringing: "#d97706",
  on_call: "#1a56db",
  busy: "#6b8fe0",
  wrap_up: "#8b6fd6",
  not_ready: "#5b3ea8",
  offline: "#b42318",
  logged_out: "#9aa5b1",
};

const CALL_STATUS = { ringing: "振铃", talking: "通话中", held: "保持中" };
const DIRECTION = { inbound: "呼入", outbound: "呼出" };

export function stateLabel(state, reason) {
  const label = STATE_LABELS[state] || state;
  if (state === "not_ready" && reason && reason !== "示忙") {
    return `${label}·${reason}`;
  }
  return label;
}

export function callStatusLabel(status) {
  return CALL_STATUS[status] || status;
}

export function directionLabel(direction) {
  return DIRECTION[direction] || direction;
}

function pad(n) {
  return String(n).padStart(2, "0");
}

/** Seconds as 分:秒, or 时:分:秒 from an hour on; "—" when unknown. */
export function clock(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) {
    return "—";
  }
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

/** A KPI in seconds: "12 秒", "3 分 05 秒"; "—" when there is nothing to average yet. */
export function seconds(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) {
    return "—";
  }
  const s = Math.round(value);
  return s < 60 ? `${s} 秒` : `${Math.floor(s / 60)} 分 ${pad(s % 60)} 秒`;
}

export function percent(ratio) {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) {
    return "—";
  }
  return `${(ratio * 100).toFixed(1)}%`;
}

const timeFormat = new Intl.DateTimeFormat("zh-CN", {
  timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
});

export function timeOfDay(date) {
  return timeFormat.format(date);
}
