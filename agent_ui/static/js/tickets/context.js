/**
 * What every part of the ticket page looks things up in: the signed-in user, the orgs the user can see
 * (GET /api/orgs: the user's subtree) and the code tables the page shows labels from.
 *
 * An org outside the subtree (a superior the ticket went up to) is named where the API names it: the timeline's
 * records carry their orgs' names, and allowed-actions lists the orgs work may be sent to. Otherwise 机构#id.
 */

import { api } from "../api.js";

const CODE_TABLES = ["business_type", "complaint_cause", "line_of_business", "channel"];

export class PageContext {
  constructor(me) {
    this.me = me;
    this.permissions = new Set(Array.isArray(me.permissions) ? me.permissions : []);
    this.orgs = new Map();
    this.names = new Map(); // orgs outside the subtree the server named (see learn)
    this.targets = [];
    this.codes = Object.fromEntries(CODE_TABLES.map((t) => [t, new Map()]));
  }

  static async load(me) {
    const context = new PageContext(me);
    const [orgs, ...tables] = await Promise.allSettled([
      context.can("org.read") ? api("/api/orgs") : Promise.resolve([]),
      ...CODE_TABLES.map((t) => api(`/api/codes/${t}`)),
    ]);
    // Missing names are shown as codes or 机构#id: the page still works without them.
    if (orgs.status === "fulfilled" && Array.isArray(orgs.value)) {
      for (const org of orgs.value) {
        context.orgs.set(org.id, org);
      }
    }
    tables.forEach((result, i) => {
      if (result.status === "fulfilled" && Array.isArray(result.value)) {
        for (const item of result.value) {
          context.codes[CODE_TABLES[i]].set(item.code, item.label);
        }
      }
    });
    return context;
  }

  can(permission) {
    return this.permissions.has(permission);
  }

  orgName(id) {
    if (id === null || id === undefined) {
      return "—";
    }
    const org = this.orgs.get(id);
    return org ? org.name : this.names.get(id) || `机构#${id}`;
  }

  code(table, code) {
    if (code === null || code === undefined || code === "") {
      return "—";
    }
    return (this.codes[table] && this.codes[table].get(code)) || String(code);
  }

  typeLabel(type) {
    return this.code("business_type", type);
  }

  /** The user's own org (from the subtree list), or null when the list could not be read. */
  ownOrg() {
    return this.orgs.get(this.me.org_id) || null;
  }

  /** 督办件 and 将超期件 are about a subtree: shown to superiors (督办 permission) and to users whose org has
   * orgs below it. */
  seesSubtree() {
    return this.can("ticket.supervise") || this.orgs.size > 1;
  }

  /** Orgs the server named for this user although they lie outside the subtree (allowed-actions' target_orgs:
   * the user's own line up to 总公司), so that they are shown by name. */
  learn(orgs) {
    this.targets = Array.isArray(orgs) ? orgs : [];
    for (const org of this.targets) {
      this.names.set(org.id, org.name);
    }
  }

  /**
   * Where the user may send work (backend/workflow/writes.py ``reachable``): as the server lists it with the
   * allowed actions, else the user's subtree and the parent of the user's org.
   */
  targetOrgs() {
    const mark = (org) => (org.id === this.me.org_id ? "（本机构）" : "");
    if (this.targets.length) {
      const top = Math.min(...this.targets.map((o) => o.depth));
      return this.targets.map((org) => ({ id: org.id, label: `${"　".repeat(org.depth - top)}${org.name}${mark(org)}` }));
    }
    const own = this.ownOrg();
    const options = [];
    if (own && own.parent_id) {
      options.push({ id: own.parent_id, label: `上级机构（${this.orgName(own.parent_id)}）` });
    }
    for (const org of this.orgs.values()) {
      const indent = own ? Math.max(0, org.depth - own.depth) : 0;
      options.push({ id: org.id, label: `${"　".repeat(indent)}${org.name}${mark(org)}` });
    }
    return options;
  }
}
