/**
 * The banner offering an unsubmitted draft back: "发现未提交的草稿《…》（保存于 …）" with 恢复 (focused, so
 * Enter restores) and 放弃. The entry form decides what the buttons do; this only shows the offer.
 */

import { $, formatDateTime, shown } from "../dom.js";

export class RestoreOffer {
  /** ``onRestore(offer)``, ``onDiscard(offer)``; an offer is ``{entry, inForm}``. */
  constructor({ onRestore, onDiscard }) {
    this.offer = null;
    this.ui = { box: $("entry-restore"), text: $("entry-restore-text"), yes: $("entry-restore-yes"),
      no: $("entry-restore-no") };
    this.ui.yes.addEventListener("click", () => this.answer(onRestore));
    this.ui.no.addEventListener("click", () => this.answer(onDiscard));
    this.ui.box.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.stopPropagation(); // Esc answers neither: the offer stays until the agent chooses
      }
    });
  }

  /** ``entry``: a pending draft; ``others``: how many more wait; ``inForm``: offered for the open form's key. */
  show(entry, { others = 0, inForm = false, focus = true } = {}) {
    this.offer = { entry, inForm };
    const more = others ? `，另有 ${others} 份草稿` : "";
    this.ui.text.textContent = `发现未提交的草稿《${shown(entry.title)}》（保存于 ${formatDateTime(entry.saved_at)}）${more}`;
    this.ui.box.hidden = false;
    this.busy(false);
    if (focus) {
      this.ui.yes.focus();
    }
  }

  hide() {
    this.offer = null;
    this.ui.box.hidden = true;
  }

  get shown() {
    return this.offer;
  }

  busy(on) {
    this.ui.yes.disabled = on;
    this.ui.no.disabled = on;
  }

  async answer(handler) {
    const offer = this.offer;
    if (!offer) {
      return;
    }
    this.busy(true);
    try {
      await handler(offer);
    } finally {
      this.busy(false);
    }
  }
}
