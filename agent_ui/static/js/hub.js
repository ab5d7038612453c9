/**
 * The console's one websocket to /ws (protocol: backend/hub/ws.py).
 *
 * It remembers, per stream, the id of the last event it applied (from the hello frame and from every
 * event), in sessionStorage so that a reload of the tab resumes too; after a cut it reconnects with
 * backoff and asks for ``?after_<stream>=<id>``, so a screen pop that happened during a network blip
 * still arrives. An event whose id is not after the stream's last id is dropped: nothing is applied
 * twice. ``window.__lianluo.applied`` counts applications per event id (read by the browser tests).
 */

const STREAMS = ["calls", "agents", "commands", "tickets", "security"];
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];
const SILENCE_MS = 45000; // two server ping intervals (20 s) and some slack: the link is dead
const WATCH_MS = 5000;
const CLOSE_UNAUTHENTICATED = 4401;
const CLOSE_BAD_REQUEST = 4400;

function parseId(id) {
  const match = /^(\d+)-(\d+)$/.exec(String(id || ""));
  return match ? [Number(match[1]), Number(match[2])] : null;
}

/** Negative, zero or positive as event id ``a`` is before, equal to or after ``b``. */
export function compareIds(a, b) {
  const x = parseId(a);
  const y = parseId(b);
  if (!x || !y) {
    return x ? 1 : y ? -1 : 0;
  }
  return x[0] - y[0] || x[1] - y[1];
}

function debugState() {
  if (!window.__lianluo) {
    window.__lianluo = { applied: {}, connects: 0, dropped: 0 };
  }
  return window.__lianluo;
}

export class Hub {
  /**
   * ``userId`` keys the stored cursors (a tab reused by another login starts afresh); ``indicator`` is the
   * element showing 已连接/重连中; ``onEvent(frame)`` applies one event; ``onAuthLost()`` when the session ended.
   */
  constructor({ userId, indicator, onEvent, onAuthLost }) {
    this.key = `lianluo.ws.after.${userId}`;
    this.indicator = indicator;
    this.onEvent = onEvent;
    this.onAuthLost = onAuthLost;
    this.cursors = this.load();
    this.socket = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.lastHeard = 0;
    this.stopped = false;
    this.debug = debugState();
  }

  load() {
    try {
      const stored = JSON.parse(window.sessionStorage.getItem(this.key) || "{}");
      return Object.fromEntries(STREAMS.filter((s) => parseId(stored[s])).map((s) => [s, stored[s]]));
    } catch {
      return {};
    }
  }

  save() {
    try {
      window.sessionStorage.setItem(this.key, JSON.stringify(this.cursors));
    } catch {
      // Without storage a reload starts from now; a reconnect in this page still resumes.
    }
  }

  start() {
    window.addEventListener("online", () => this.reconnectNow());
    window.setInterval(() => this.watch(), WATCH_MS);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.clearTimeout(this.retryTimer);
    if (this.socket) {
      this.socket.close(1000, "client closed");
    }
  }

  url() {
    const url = new URL("/ws", window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    for (const stream of STREAMS) {
      if (this.cursors[stream]) {
        url.searchParams.set(`after_${stream}`, this.cursors[stream]);
      }
    }
    return url.toString();
  }

  show(state, text) {
    this.indicator.dataset.state = state;
    this.indicator.textContent = text;
  }

  connect() {
    if (this.stopped) {
      return;
    }
    this.show("connecting", this.attempt ? "重连中…" : "正在连接…");
    let socket;
    try {
      socket = new WebSocket(this.url());
    } catch {
      this.retry();
      return;
    }
    this.socket = socket;
    this.lastHeard = Date.now();
    socket.addEventListener("message", (event) => {
      if (socket === this.socket) {
        this.receive(event.data);
      }
    });
    socket.addEventListener("close", (event) => {
      if (socket === this.socket) {
        this.closed(event.code);
      }
    });
  }

  receive(text) {
    this.lastHeard = Date.now();
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (!frame || typeof frame !== "object") {
      return;
    }
    if (frame.id !== undefined) {
      this.apply(frame);
    } else if (frame.type === "ping") {
      this.socket.send(JSON.stringify({ type: "pong" }));
    } else if (frame.type === "hello") {
      this.hello(frame.after || {});
    }
  }

  hello(after) {
    for (const stream of STREAMS) {
      const id = after[stream];
      if (parseId(id) && (!this.cursors[stream] || compareIds(id, this.cursors[stream]) > 0)) {
        this.cursors[stream] = id;
      }
    }
    this.save();
    this.attempt = 0;
    this.debug.connects += 1;
    this.show("open", "已连接");
  }

  apply(frame) {
    const last = this.cursors[frame.stream];
    if (last && compareIds(frame.id, last) <= 0) {
      this.debug.dropped += 1;
      return;
    }
    this.cursors[frame.stream] = frame.id;
    this.save();
    this.debug.applied[frame.id] = (this.debug.applied[frame.id] || 0) + 1;
    try {
      this.onEvent(frame);
    } catch (err) {
      console.error("事件处理失败", frame.type, err);
    }
  }

  closed(code) {
    this.socket = null;
    if (code === CLOSE_UNAUTHENTICATED) {
      this.stopped = true;
      this.show("closed", "登录已失效");
      this.onAuthLost();
      return;
    }
    if (code === CLOSE_BAD_REQUEST) {
      this.cursors = {}; // the stored ids are not the server's any more: start from now
      this.save();
    }
    this.retry();
  }

  retry() {
    if (this.stopped) {
      return;
    }
    const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    this.show("retrying", "重连中…");
    window.clearTimeout(this.retryTimer);
    this.retryTimer = window.setTimeout(() => this.connect(), base + Math.floor(Math.random() * base * 0.2));
  }

  reconnectNow() {
    if (this.socket || this.stopped) {
      return;
    }
    window.clearTimeout(this.retryTimer);
    this.connect();
  }

  watch() {
    if (this.socket && this.socket.readyState === WebSocket.OPEN && Date.now() - this.lastHeard > SILENCE_MS) {
      const dead = this.socket;
      this.socket = null;
      dead.close(4000, "heartbeat lost");
      this.retry();
    }
  }
}
