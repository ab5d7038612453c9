/**
 * Between the API and the smart-entry form's values: a quick action's prefill as form values, the values
 * as the POST /api/tickets body, and the server's field errors matched back to fields.
 *
 * Masked values (the API masks phones and ID numbers for most roles) and empty values are left out of the
 * body: a masked number is not a number, and the server registers the complainant's contact data from
 * ``customer_id``.
 */

import { masked } from "./fields.js";

const BEIJING = "+08:00";

/** One field's raw form value as the API wants it, or undefined to leave it out. */
export function apiValue(def, raw) {
  if (raw === undefined || raw === null || masked(raw)) {
    return undefined;
  }
  switch (def.kind) {
    case "bool":
      return raw === true || raw === "true";
    case "tristate":
      return raw === "true" ? true : raw === "false" ? false : undefined;
    case "int":
      return String(raw).trim() ? Number(String(raw).trim()) : undefined;
    case "datetime": {
      const text = String(raw).trim();
      if (!text) {
        return undefined;
      }
      return `${text.length === 16 ? `${text}:00` : text}${BEIJING}`; // datetime-local is Beijing wall time
    }
    default: {
      const text = String(raw).trim();
      return text ? text : undefined;
    }
  }
}

/** The form values a quick action's prefill implies (``details`` flattened to ``details.x`` names). */
export function prefillValues(prefill) {
  const values = {};
  for (const key of ["channel", "complainant_name", "complainant_phone", "complainant_id_number", "policy_number"]) {
    if (prefill[key] !== undefined && prefill[key] !== null) {
      values[key] = prefill[key];
    }
  }
  const flatten = (object, path) => {
    for (const [key, value] of Object.entries(object || {})) {
      if (value && typeof value === "object" && !Array.isArray(value)) {
        flatten(value, `${path}.${key}`);
      } else if (value !== undefined && value !== null) {
        values[`${path}.${key}`] = value;
      }
    }
  };
  flatten(prefill.details, "details");
  return values;
}

function setPath(target, path, value) {
  const parts = path.split(".");
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== "object" || node[part] === null) {
      node[part] = {};
    }
    node = node[part];
  }
  node[parts[parts.length - 1]] = value;
}

function usable(value) {
  return value === undefined || value === null || value === "" || masked(value) ? undefined : value;
}

/**
 * ``defs``: the type's fields; ``values``: {name: raw}; ``context``: {prefill, callerPhone} of the quick
 * action (the call and customer the ticket is linked to).
 */
export function ticketBody(type, defs, values, context) {
  const body = { type, submit: true };
  for (const def of defs) {
    const value = apiValue(def, values[def.name]);
    if (value !== undefined) {
      setPath(body, def.name, value);
    }
  }
  const prefill = (context && context.prefill) || {};
  const linked = {
    channel: body.channel || prefill.channel || "hotline",
    customer_id: usable(prefill.customer_id),
    call_id: usable(prefill.call_id),
    node: usable(prefill.node),
    caller_phone: usable(prefill.caller_phone) || usable(context && context.callerPhone),
  };
  for (const [key, value] of Object.entries(linked)) {
    if (value !== undefined) {
      body[key] = value;
    }
  }
  if (!body.details) {
    body.details = {};
  }
  return body;
}

/**
 * A 422's field errors by form field name. The server names fields by body path (``details.accident_at``,
 * ``complainant_phone``); a nested object's error (``details.respondent``) lands on its first field.
 */
export function errorsByField(errors, names) {
  const out = new Map();
  const unmatched = [];
  for (const error of Array.isArray(errors) ? errors : []) {
    const field = String((error && error.field) || "").replace(/^body\./, "");
    const message = String((error && error.message) || "内容无效");
    const name = names.includes(field) ? field : names.find((n) => n.startsWith(`${field}.`));
    if (name) {
      out.set(name, out.has(name) ? `${out.get(name)}；${message}` : message);
    } else {
      unmatched.push(field ? `${field}：${message}` : message);
    }
  }
  return { byField: out, unmatched };
}
