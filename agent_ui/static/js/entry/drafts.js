/**
 * The entry form's drafts: which key a form is saved under, the autosave status line, and offering
 * unsubmitted drafts back (恢复 / 放弃) when the console starts, when a form closes, and when a form whose
 * key already has a draft is opened.
 *
 * Keys: ``ticket:<type>:call:<call_id>`` for a form tied to a call, else ``ticket:<type>:new:<id>`` with an
 * id this tab keeps in sessionStorage (so a reload finds its form again) and renews once the form is done.
 */

import { formatDateTime, stash } from "../dom.js";
import { Autosave, discardDraft, loadDraft, pendingDraft, pendingDrafts } from "./autosave.js";
import { RestoreOffer } from "./restore.js";

const PREFIX = "ticket:";
const NEW_ID_KEY = "lianluo.entry.new-id";
const PAYLOAD_VERSION = 1;
const clock = new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit",
  second: "2-digit", hourCycle: "h23" });

function keyPart(value) {
  return String(value).toLowerCase().replace(/[^a-z0-9_.-]/g, "-").slice(0, 80);
}

/** This tab's id for forms not tied to a call, made once and kept in sessionStorage. */
function newFormId({ renew = false } = {}) {
  let id = renew ? null : stash.get(NEW_ID_KEY);
  if (!id) {
    const bytes = window.crypto.getRandomValues(new Uint8Array(6));
    id = [...bytes].map((b) => b.toString(36).padStart(2, "0")).join("");
    stash.set(NEW_ID_KEY, id);
  }
  return id;
}

/** A new id for the next form not tied to a call (the last one was submitted, or is kept as it is). */
export function renewFormId() {
  newFormId({ renew: true });
}

/** The key a form of ``type`` opened with ``prefill`` is saved under. */
export function formKey(type, prefill) {
  const call = prefill && prefill.call_id;
  return call ? `${PREFIX}${type}:call:${keyPart(call)}` : `${PREFIX}${type}:new:${newFormId()}`;
}

function restorable(payload) {
  return payload && typeof payload.type === "string" && payload.values && typeof payload.values === "object"
    && payload.context && payload.context.prefill;
}

export class EntryDrafts {
  /**
   * ``form``: the entry form — ``isOpen``, ``state()`` ({type, label, context, values} or null),
   * ``restore(payload, {key, version})``, ``focusFirst()``; the status line, the panel heading, and ``owner``
   * (the signed-in user's id: browser copies are theirs only).
   */
  constructor(form, { status, heading, owner }) {
    this.form = form;
    this.owner = owner;
    this.ui = { status, heading };
    this.key = null;
    this.dismissed = new Set(); // drafts closed with Esc this session: not offered again until a reload
    this.offers = new RestoreOffer({ onRestore: (o) => this.restore(o), onDiscard: (o) => this.discard(o) });
    this.autosave = new Autosave({
      collect: () => this.collect(),
      onStatus: (kind, savedAt, reason) => this.showSaved(kind, savedAt, reason),
      seconds: () => form.autosaveSeconds(),
      owner,
    });
  }

  start() {
    this.autosave.start();
    this.offerPending();
  }

  get isDirty() {
    return this.autosave.isDirty;
  }

  dirty() {
    this.autosave.dirty();
  }

  save(reason) {
    return this.autosave.save(reason);
  }

  /** A form was opened under ``key``: saves go there. An offer for another draft waits until it closes. */
  bind(key, version = null) {
    this.key = key;
    this.autosave.bind(key, version);
    this.ui.status.textContent = "";
    if (this.offers.shown) {
      this.offers.hide();
    }
  }

  /** The form's type changed, and so did its key: what was saved under the old one moves to the new one. */
  rebind(key) {
    const old = this.key;
    const wrote = this.autosave.wrote;
    this.bind(key);
    if (old !== key && wrote) {
      discardDraft(old);
    }
    this.autosave.dirty();
  }

  /** After opening: a draft saved under the same key before ``openedAt`` is offered back (and kept meanwhile). */
  async offerOwn(openedAt) {
    const key = this.key;
    const saved = await pendingDraft(key, this.owner);
    if (saved && this.key === key && Date.parse(saved.saved_at) < openedAt && !this.autosave.wrote) {
      this.autosave.held = true;
      this.offers.show(saved, { inForm: true });
    }
  }

  collect() {
    const state = this.form.state();
    if (!state) {
      return null;
    }
    const what = String(state.values.subject || "").trim() || state.values.complainant_name || "未填写事由";
    return { key: this.key, title: `${state.label}：${what}`.slice(0, 60),
      payload: { v: PAYLOAD_VERSION, type: state.type, context: state.context, values: state.values } };
  }

  showSaved(kind, savedAt, reason) {
    const at = clock.format(new Date(savedAt));
    const manual = reason === "manual";
    this.ui.status.dataset.tone = kind === "local" ? "error" : kind === "saved" ? "ok" : "info";
    this.ui.status.textContent = {
      saving: manual ? "正在暂存…" : "正在自动保存…",
      saved: manual ? `已暂存 ${at}` : `已自动保存 ${at}`,
      local: manual ? "暂存到服务器失败，已保存在本机" : "自动保存失败，已保存在本机",
    }[kind];
  }

  /**
   * The form is closing (called while it is still there to be saved): kept as a draft (Esc), or gone
   * (``submitted``: both copies deleted). Returns the deletion in flight.
   */
  closed({ submitted = false } = {}) {
    const key = this.key;
    let done = Promise.resolve(true);
    if (submitted) {
      this.autosave.unbind();
      done = discardDraft(key);
      if (key.includes(":new:")) {
        renewFormId();
      }
    } else if (key) {
      if (this.autosave.isDirty) {
        this.autosave.save("auto");
      }
      this.dismissed.add(key);
      this.autosave.unbind();
    }
    this.key = null;
    if (this.offers.shown && this.offers.shown.inForm) {
      this.offers.hide();
    }
    return done;
  }

  /** The newest unsubmitted draft, offered back while no form is open. */
  async offerPending({ focus = true } = {}) {
    if (this.form.isOpen) {
      return;
    }
    const waiting = (await pendingDrafts(PREFIX, this.owner)).filter((d) => !this.dismissed.has(d.form_key));
    if (this.form.isOpen) {
      return;
    }
    if (!waiting.length) {
      this.offers.hide();
      return;
    }
    this.offers.show(waiting[0], { others: waiting.length - 1, focus });
  }

  async restore({ entry }) {
    const loaded = await loadDraft(entry, this.owner);
    this.offers.hide();
    if (!loaded || !restorable(loaded.payload)) {
      this.dismissed.add(entry.form_key);
      this.ui.heading.focus();
      await this.offerPending();
      return;
    }
    await this.form.restore(loaded.payload, { key: entry.form_key, version: loaded.version });
    this.ui.status.dataset.tone = "ok";
    this.ui.status.textContent = `已恢复保存于 ${formatDateTime(entry.saved_at)} 的草稿`;
  }

  async discard({ entry, inForm }) {
    await discardDraft(entry.form_key);
    this.offers.hide();
    if (inForm && this.form.isOpen && this.key === entry.form_key) {
      const typed = this.autosave.isDirty;
      this.autosave.bind(this.key); // the open form starts a fresh draft under the same key
      if (typed) {
        this.autosave.dirty();
      }
      this.form.focusFirst();
      return;
    }
    this.ui.heading.focus();
    await this.offerPending();
  }
}
