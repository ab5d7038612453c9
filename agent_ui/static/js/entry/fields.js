/**
 * Renders a ticket type's field list (GET /api/tickets/forms) as labelled controls, and reads and fills
 * them back. Each field's ``name`` is its path in the POST /api/tickets body (``details.cause``); the
 * controls hold the form's raw values (strings, and booleans for checkboxes) and ``body.js`` turns them
 * into the request. Code fields are selects from GET /api/codes/<table>; a field with a ``parent`` lists
 * only the items under the parent's chosen code, and is refreshed (and cleared when its value no longer
 * belongs) whenever the parent changes.
 */

import { api, segment } from "../api.js";
import { el } from "../dom.js";

export const MASKED_NOTE = "（已脱敏，按客户档案登记）";
const TRISTATE = [["", "未知"], ["true", "是"], ["false", "否"]];
const INPUT_KIND = {
  phone: { type: "tel", inputmode: "tel", maxlength: 32 },
  id_number: { type: "text", inputmode: "text", maxlength: 18 },
  plate: { type: "text", inputmode: "text", maxlength: 10 },
  int: { type: "text", inputmode: "numeric", maxlength: 9 },
  datetime: { type: "datetime-local" },
  text: { type: "text" },
};
const GROUP_LEGEND = { common: "基本信息", details: "业务信息" };

const codeTables = new Map();

/** A code table's active items, fetched once per page. */
export function codeItems(table) {
  if (!codeTables.has(table)) {
    const request = api(`/api/codes/${segment(table)}`).then((items) => (Array.isArray(items) ? items : []));
    request.catch(() => codeTables.delete(table)); // a failed load is retried next time
    codeTables.set(table, request);
  }
  return codeTables.get(table);
}

export function masked(value) {
  return typeof value === "string" && value.includes("*");
}

function controlId(name) {
  return `ef-${name.replace(/[^A-Za-z0-9_]/g, "-")}`;
}

/** One field: its label, control, hint and error line. */
export class FieldControl {
  constructor(def) {
    this.def = def;
    this.id = controlId(def.name);
    this.masked = null;
    this.touched = false;
    this.wrap = el("div", `field field-${def.kind}`);
    this.wrap.dataset.field = def.name;
    this.input = this.build();
    this.input.id = this.id;
    this.input.name = def.name;
    this.hint = el("p", "hint");
    this.hint.id = `${this.id}-hint`;
    this.hint.hidden = true;
    this.error = el("p", "field-error");
    this.error.id = `${this.id}-error`;
    this.input.setAttribute("aria-describedby", `${this.hint.id} ${this.error.id}`);
    if (def.required) {
      this.input.setAttribute("aria-required", "true");
    }
    const label = el("label", null, def.label);
    label.htmlFor = this.id;
    if (def.required) {
      label.append(el("span", "required-mark", "（必填）"));
    }
    if (def.kind === "bool") {
      this.wrap.classList.add("field-check");
      label.prepend(this.input);
      this.wrap.append(label, this.hint, this.error);
    } else {
      this.wrap.append(label, this.input, this.hint, this.error);
    }
  }

  build() {
    const { kind, max_length: maxLength } = this.def;
    if (kind === "textarea") {
      const area = el("textarea");
      area.rows = 2;
      if (maxLength) {
        area.maxLength = maxLength + 200; // over-long text is kept and flagged rather than silently cut
      }
      return area;
    }
    if (kind === "bool") {
      const box = el("input");
      box.type = "checkbox";
      return box;
    }
    if (kind === "tristate" || kind === "code") {
      const select = el("select");
      if (kind === "tristate") {
        select.append(...TRISTATE.map(([value, text]) => option(value, text)));
      }
      return select;
    }
    const spec = INPUT_KIND[kind] || INPUT_KIND.text;
    const input = el("input");
    input.type = spec.type;
    input.autocomplete = "off";
    if (spec.inputmode) {
      input.setAttribute("inputmode", spec.inputmode);
    }
    const limit = spec.maxlength || (maxLength ? maxLength + 200 : 0);
    if (limit) {
      input.maxLength = limit;
    }
    if (["phone", "id_number", "plate", "int"].includes(kind)) {
      input.spellcheck = false;
      input.classList.add("mono");
    }
    return input;
  }

  get value() {
    if (this.masked !== null) {
      return this.masked;
    }
    return this.def.kind === "bool" ? this.input.checked : this.input.value;
  }

  set value(value) {
    if (this.def.kind === "bool") {
      this.input.checked = value === true || value === "true";
    } else if (this.def.kind === "tristate") {
      this.input.value = value === true || value === "true" ? "true" : value === false || value === "false" ? "false" : "";
    } else if (this.def.kind === "datetime") {
      this.input.value = localDateTime(value);
    } else {
      this.input.value = value === undefined || value === null ? "" : String(value);
    }
  }

  /** A value the API masked: shown read-only and never sent back (the server registers it from the customer). */
  setMasked(value) {
    this.masked = value;
    this.input.value = value;
    this.input.readOnly = true;
    this.input.classList.add("masked");
    this.hint.textContent = MASKED_NOTE;
    this.hint.hidden = false;
  }

  clearMasked() {
    this.masked = null;
    this.input.readOnly = false;
    this.input.classList.remove("masked");
    this.hint.textContent = "";
    this.hint.hidden = true;
  }

  showError(message) {
    this.error.textContent = message || "";
    if (message) {
      this.input.setAttribute("aria-invalid", "true");
    } else {
      this.input.removeAttribute("aria-invalid");
    }
  }

  /** Replaces a select's options, keeping the value while it is still offered; true when it was cleared. */
  setOptions(items, placeholder, { waiting = false } = {}) {
    const kept = this.input.value;
    this.input.replaceChildren(option("", placeholder), ...items.map((i) => option(i.code, i.label)));
    this.input.value = items.some((i) => i.code === kept) ? kept : "";
    this.input.disabled = waiting;
    return this.input.value !== kept;
  }

  /** The chosen option's text (a code field's label), for the knowledge-base search. */
  text() {
    const chosen = this.input.selectedOptions && this.input.selectedOptions[0];
    return chosen && chosen.value ? chosen.textContent : "";
  }
}

function option(value, text) {
  const node = el("option", null, text);
  node.value = value;
  return node;
}

const zoned = new Intl.DateTimeFormat("sv-SE", {
  timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
  minute: "2-digit", hourCycle: "h23",
});

/** An ISO instant (or a datetime-local value) as the datetime-local value of Beijing time. */
export function localDateTime(value) {
  if (!value) {
    return "";
  }
  const text = String(value);
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(text)) {
    return text;
  }
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? "" : zoned.format(date).replace(" ", "T");
}

/** All fields of one ticket type, rendered into ``container``. ``onChange(control)`` follows every edit. */
export class FieldSet {
  constructor(container, defs, { onChange } = {}) {
    this.container = container;
    this.defs = defs;
    this.onChange = onChange || (() => {});
    this.controls = new Map(defs.map((def) => [def.name, new FieldControl(def)]));
  }

  async render() {
    const groups = new Map();
    for (const control of this.controls.values()) {
      const group = control.def.group === "details" ? "details" : "common";
      if (!groups.has(group)) {
        const set = el("fieldset", `entry-group entry-group-${group}`);
        set.append(el("legend", null, GROUP_LEGEND[group]));
        const grid = el("div", "entry-grid");
        set.append(grid);
        groups.set(group, grid);
      }
      groups.get(group).append(control.wrap);
      const event = control.input.tagName === "SELECT" || control.def.kind === "bool" ? "change" : "input";
      control.input.addEventListener(event, () => {
        control.touched = true;
        this.changed(control);
      });
    }
    this.container.replaceChildren(...[...groups.values()].map((grid) => grid.parentElement));
    await this.refreshCodes();
  }

  control(name) {
    return this.controls.get(name) || null;
  }

  children(name) {
    return [...this.controls.values()].filter((c) => c.def.kind === "code" && c.def.parent === name);
  }

  async changed(control) {
    if (this.children(control.def.name).length) {
      await this.refreshCodes(control.def.name);
    }
    this.onChange(control);
  }

  /** Fills the options of every code field (or only those under ``parentName``), parents first. */
  async refreshCodes(parentName) {
    const fields = [...this.controls.values()].filter((c) => c.def.kind === "code" && c.def.code_table
      && (parentName === undefined || c.def.parent === parentName));
    for (const control of orderByParent(fields)) {
      let items;
      try {
        items = await codeItems(control.def.code_table);
      } catch {
        control.setOptions([], "代码表加载失败");
        continue;
      }
      const parent = control.def.parent ? this.control(control.def.parent) : null;
      const under = parent ? parent.input.value : null;
      const shownItems = items.filter((i) => (i.parent_code || null) === under);
      const waiting = Boolean(parent && !under);
      const placeholder = waiting ? `请先选择${parent.def.label}` : shownItems.length ? "请选择" : "（无）";
      if (control.setOptions(shownItems, placeholder, { waiting })) {
        this.onChange(control); // a sub-cause that no longer belongs was cleared
      }
      await this.refreshCodes(control.def.name);
    }
  }

  /** ``{name: raw value}`` of every field (masked ones as shown, for the draft). */
  values() {
    return Object.fromEntries([...this.controls].map(([name, c]) => [name, c.value]));
  }

  /** Sets values, parents before their children so each cascade level has its options when set. */
  async fill(values, { maskedAllowed = true } = {}) {
    const names = Object.keys(values).filter((name) => this.controls.has(name));
    const codes = orderByParent(names.map((n) => this.controls.get(n)).filter((c) => c.def.kind === "code"));
    for (const name of names) {
      const control = this.controls.get(name);
      if (control.def.kind === "code") {
        continue;
      }
      if (maskedAllowed && masked(values[name])) {
        control.setMasked(values[name]);
      } else {
        control.clearMasked();
        control.value = values[name];
      }
    }
    for (const control of codes) {
      control.value = values[control.def.name];
      await this.refreshCodes(control.def.name);
    }
  }
}

/** Code fields sorted so that a parent comes before the fields that depend on it. */
function orderByParent(controls) {
  const names = new Set(controls.map((c) => c.def.name));
  const depth = (c, seen = 0) => (c.def.parent && names.has(c.def.parent) && seen < 5
    ? 1 + depth(controls.find((x) => x.def.name === c.def.parent), seen + 1) : 0);
  return [...controls].sort((a, b) => depth(a) - depth(b));
}
