/**
 * The wallboard's link to ``/ws``: answers pings, reconnects with a growing delay, and resumes each
 * stream after the last event seen (``?after_<stream>=<id>``) so no call or agent event is missed.
 *
 * ``onEvent(frame)`` gets every event frame; ``onStatus(state)`` gets "connecting", "live" or
 * "down"; ``onResumed()`` is called on each hello (the first one too), when a snapshot should be
 * re-read because events may have been missed while the link was down.
 */

import { goToLogin } from "../api.js";

const PING_SECONDS = 20; // the hub's interval; silence for two of them means the link is dead
const MAX_DELAY_MS = 15_000;
const CLOSE_BAD_AFTER = 4400;
const CLOSE_UNAUTHENTICATED = 4401;

export class LiveLink {
  constructor({ streams, onEvent, onStatus, onResumed }) {
    this.streams = streams;
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.onResumed = onResumed;
    this.after = {};
    this.socket = null;
    this.delay = 1000;
    this.watchdog = null;
    this.stopped = false;
  }

  url() {
    const url = new URL("/ws", window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    for (const stream of this.streams) {
      if (this.after[stream]) {
        url.searchParams.set(`after_${stream}`, this.after[stream]);
      }
    }
    return url.toString();
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.watchdog);
    if (this.socket) {
      this.socket.close(1000);
    }
  }

  connect() {
    this.onStatus("connecting");
    const socket = new WebSocket(this.url());
    this.socket = socket;
    socket.addEventListener("message", (message) => this.receive(socket, message));
    socket.addEventListener("close", (event) => this.closed(socket, event));
    this.feedWatchdog(socket);
  }

  feedWatchdog(socket) {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => socket.close(4000), 2 * PING_SECONDS * 1000 + 5000);
  }

  receive(socket, message) {
    this.feedWatchdog(socket);
    let frame;
    try {
      frame = JSON.parse(message.data);
    } catch {
      return;
    }
    if (!frame || typeof frame !== "object") {
      return;
    }
    if (frame.type === "ping") {
      socket.send(JSON.stringify({ type: "pong" }));
      return;
    }
    if (frame.type === "hello") {
      // Where each stream starts: the resume point if no event of it arrives before the next drop.
      for (const stream of this.streams) {
        if (frame.after && typeof frame.after[stream] === "string") {
          this.after[stream] = frame.after[stream];
        }
      }
      this.delay = 1000;
      this.onStatus("live");
      this.onResumed();
      return;
    }
    if (typeof frame.id === "string" && typeof frame.stream === "string") {
      if (this.streams.includes(frame.stream)) {
        this.after[frame.stream] = frame.id;
      }
      this.onEvent(frame);
    }
  }

  closed(socket, event) {
    if (socket !== this.socket) {
      return;
    }
    clearTimeout(this.watchdog);
    this.socket = null;
    if (this.stopped) {
      return;
    }
    if (event.code === CLOSE_UNAUTHENTICATED) {
      goToLogin();
      return;
    }
    if (event.code === CLOSE_BAD_AFTER) {
      this.after = {}; // the saved ids are no longer valid: start afresh (the snapshot is re-read)
    }
    this.onStatus("down");
    setTimeout(() => this.connect(), this.delay);
    this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
  }
}
