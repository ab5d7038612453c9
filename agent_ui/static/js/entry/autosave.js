/**
 * Autosave of a half-filled form, to the browser and to the server, and finding what is left to restore.
 *
 * Every few seconds while the form is dirty (60 by default, ``data-autosave-seconds`` on the form) and when
 * the page is hidden or left, the form is written to localStorage (``lianluo.form.<form_key>``) and sent with
 * PUT /api/drafts/<form_key>. The browser copy is written first and synchronously: it survives a server or
 * network failure and a tab closed mid-request. A 409 ``draft-stale`` means another tab saved the same form
 * since; this tab's copy is the newer one, so it takes the server's version number and saves again.
 *
 * Browser copies carry the user's id and only that user is offered them: agents share workstations, and the
 * next one to sign in must not see (or restore) what the last one typed.
 */

import { ApiError, api, segment } from "../api.js";

const LOCAL_PREFIX = "lianluo.form.";
const DEFAULT_SECONDS = 60;

const local = {
  key: (formKey) => `${LOCAL_PREFIX}${formKey}`,
  get(formKey, owner) {
    try {
      const raw = window.localStorage.getItem(local.key(formKey));
      const copy = raw ? JSON.parse(raw) : null;
      return copy && typeof copy === "object" && copy.payload && copy.user_id === owner ? copy : null;
    } catch {
      return null;
    }
  },
  set(formKey, copy) {
    try {
      window.localStorage.setItem(local.key(formKey), JSON.stringify(copy));
      return true;
    } catch {
      return false; // quota or a private window: the server copy still holds
    }
  },
  remove(formKey) {
    try {
      window.localStorage.removeItem(local.key(formKey));
    } catch {
      // Nothing to remove without storage.
    }
  },
  keys(prefix) {
    const out = [];
    try {
      for (let i = 0; i < window.localStorage.length; i += 1) {
        const key = window.localStorage.key(i);
        if (key && key.startsWith(LOCAL_PREFIX + prefix)) {
          out.push(key.slice(LOCAL_PREFIX.length));
        }
      }
    } catch {
      // As above.
    }
    return out;
  },
};

export { local as localDrafts };

const draftPath = (formKey) => `/api/drafts/${segment(formKey)}`;

function time(value) {
  const t = Date.parse(value || "");
  return Number.isNaN(t) ? 0 : t;
}

/**
 * Drafts waiting to be restored, newest first: each server draft, or the browser's copy where it is newer
 * (or the server never got it). ``[{form_key, title, saved_at, version, source: "server"|"local"}]``.
 */
export async function pendingDrafts(prefix, owner) {
  let server = [];
  try {
    const rows = await api("/api/drafts", { query: { prefix } });
    server = Array.isArray(rows) ? rows : [];
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      return [];
    }
  }
  const found = new Map(server.map((d) => [d.form_key, { ...d, source: "server" }]));
  for (const key of local.keys(prefix)) {
    const copy = local.get(key, owner);
    const known = found.get(key);
    if (copy && (!known || time(copy.saved_at) > time(known.saved_at))) {
      found.set(key, { form_key: key, title: copy.title, saved_at: copy.saved_at,
        version: known ? known.version : copy.version || null, source: "local" });
    }
  }
  return [...found.values()].sort((a, b) => time(b.saved_at) - time(a.saved_at));
}

/** The one pending draft of ``formKey``, or null. */
export async function pendingDraft(formKey, owner) {
  return (await pendingDrafts(formKey, owner)).find((d) => d.form_key === formKey) || null;
}

/** A pending draft's payload and version, from where ``pendingDrafts`` found the newest copy. */
export async function loadDraft(entry, owner) {
  if (entry.source === "server") {
    try {
      const draft = await api(draftPath(entry.form_key));
      return { payload: draft.payload, version: draft.version };
    } catch {
      // The browser copy, if any, is the next best thing.
    }
  }
  const copy = local.get(entry.form_key, owner);
  return copy ? { payload: copy.payload, version: entry.version || null } : null;
}

/** Both copies of a draft deleted (after submitting, or when the agent discards it). */
export async function discardDraft(formKey) {
  local.remove(formKey);
  try {
    await api(draftPath(formKey), { method: "DELETE" });
    return true;
  } catch {
    return false;
  }
}

export class Autosave {
  /**
   * ``collect()`` → ``{key, title, payload}`` of the open form, or null when none is open;
   * ``onStatus(kind, savedAt)`` with kind ``saved`` | ``local`` (server failed) | ``saving``;
   * ``seconds()`` → the interval; ``owner``: the signed-in user's id, kept with the browser copy.
   */
  constructor({ collect, onStatus, seconds, owner }) {
    this.owner = owner;
    this.collect = collect;
    this.onStatus = onStatus || (() => {});
    this.seconds = seconds || (() => DEFAULT_SECONDS);
    this.key = null;
    this.version = null;
    this.isDirty = false;
    this.held = false; // while an older draft of the same form is offered back, nothing may overwrite it
    this.wrote = false; // whether this form has saved anything under its key yet
    this.timer = null;
    this.queue = Promise.resolve(true);
  }

  /** Listens for the page being hidden or left: the moment a form is most often lost. */
  start() {
    window.addEventListener("pagehide", () => this.flush());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden") {
        this.flush();
      }
    });
  }

  /** A form is now open under ``key`` (``version``: the server draft's, when restoring one). */
  bind(key, version = null) {
    this.key = key;
    this.version = version;
    this.isDirty = false;
    this.held = false;
    this.wrote = false;
    this.clearTimer();
  }

  /** The open form changed: saved once the interval has passed. */
  dirty() {
    this.isDirty = true;
    if (!this.timer && this.key) {
      const seconds = Math.max(1, Number(this.seconds()) || DEFAULT_SECONDS);
      this.timer = window.setTimeout(() => {
        this.timer = null;
        if (this.isDirty) {
          this.save("auto");
        }
      }, seconds * 1000);
    }
  }

  clearTimer() {
    if (this.timer) {
      window.clearTimeout(this.timer);
      this.timer = null;
    }
  }

  /** Stops saving (the form was submitted or closed). */
  unbind() {
    this.clearTimer();
    this.key = null;
    this.version = null;
    this.isDirty = false;
    this.held = false;
  }

  snapshot() {
    const state = this.key && !this.held ? this.collect() : null;
    if (!state) {
      return null;
    }
    return { ...state, saved_at: new Date().toISOString() };
  }

  /** Saves now to both places; resolves to true when the server has it. ``reason``: auto | manual. */
  async save(reason = "manual") {
    const state = this.snapshot();
    if (!state) {
      return false;
    }
    this.clearTimer();
    this.isDirty = false;
    this.wrote = true;
    local.set(state.key, { user_id: this.owner, title: state.title, payload: state.payload,
      saved_at: state.saved_at, version: this.version });
    this.onStatus("saving", state.saved_at, reason);
    // One request at a time, so versions go up in the order the saves were made.
    const run = this.queue.then(() => this.put(state));
    this.queue = run;
    const ok = await run;
    this.onStatus(ok ? "saved" : "local", state.saved_at, reason);
    return ok;
  }

  async put(state, retried = false) {
    const body = { payload: state.payload, title: state.title, saved_at: state.saved_at, version: this.version };
    try {
      const draft = await api(draftPath(state.key), { method: "PUT", body });
      if (this.key === state.key) {
        this.version = draft.version;
      }
      return true;
    } catch (err) {
      const current = err instanceof ApiError && err.status === 409 && err.problem.current;
      if (current && !retried) {
        this.version = current.version; // the last writer is this tab: overwrite what another tab saved
        return this.put(state, true);
      }
      return false;
    }
  }

  /** Page hidden or left: the browser copy now, and the server copy with a request that outlives the page. */
  flush() {
    if (!this.isDirty) {
      return;
    }
    const state = this.snapshot();
    if (!state) {
      return;
    }
    this.isDirty = false;
    this.wrote = true;
    this.clearTimer();
    local.set(state.key, { user_id: this.owner, title: state.title, payload: state.payload,
      saved_at: state.saved_at, version: this.version });
    try {
      // keepalive lets the request finish after the page is gone; no version: nothing could retry a 409.
      fetch(draftPath(state.key), {
        method: "PUT", keepalive: true, credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ payload: state.payload, title: state.title, saved_at: state.saved_at, version: null }),
      }).then((r) => (r.ok ? r.json() : null)).then((draft) => {
        if (draft && this.key === state.key) {
          this.version = draft.version; // the page was only hidden, and lives on
        }
      }).catch(() => {});
    } catch {
      // The browser copy holds.
    }
  }
}
