/**
 * The right side of 工单处理: one ticket (GET /api/tickets/{id}), its type's own fields with their labels, who
 * holds it now (…/work-items), its timeline (…/timeline) and what the user may do with it (…/allowed-actions,
 * handled by actions.js).
 *
 * Contact and identity numbers are shown as the API returns them: the API masks them per role. A ticket the
 * user may not see answers 404 like one that does not exist, and the page says so in the same words.
 */

import { ApiError, api, segment } from "../api.js";
import { EMPTY, el, formatDateTime, shown } from "../dom.js";
import { ActionPanel } from "./actions.js";
import {
  DETAIL_FIELDS,
  ITEM_STATUS,
  RISK_FLAGS,
  ROLES,
  deadline,
  dueBadge,
  priorityBadge,
  statusChip,
  stepLabel,
  yesNo,
} from "./labels.js";
import { showTimeline } from "./timeline.js";

const ACTIVE_ITEMS = new Set(["open", "waiting"]);

function fact(label, value, { wide = false, mono = false, node = null } = {}) {
  const wrap = el("div", wide ? "fact fact-wide" : "fact");
  const dd = el("dd", mono ? "mono" : null);
  if (node) {
    dd.append(node);
  } else {
    dd.textContent = shown(value);
  }
  wrap.append(el("dt", null, label), dd);
  return wrap;
}

export class TicketDetail {
  /** ``ui``: the detail elements (see tickets.html); ``onChanged()`` after an action, to re-read the lists. */
  constructor({ ui, context, onChanged }) {
    this.ui = ui;
    this.context = context;
    this.onChanged = onChanged;
    this.ticketId = null;
    this.request = 0;
    this.actions = new ActionPanel({
      ui: { buttons: ui.actionButtons, holder: ui.actionForm, result: ui.actionResult, empty: ui.actionsEmpty },
      context,
      onDone: () => this.afterAction(),
      onStale: () => this.reload(),
    });
  }

  clear() {
    this.request += 1;
    this.ticketId = null;
    this.ui.body.hidden = true;
    this.ui.denied.hidden = true;
    this.ui.status.hidden = false;
    this.ui.status.textContent = "请在左侧选择工单。";
  }

  /** Shows ticket ``ticketId``; ``focus`` moves focus to its heading (when the user opened it). */
  async open(ticketId, { focus = false } = {}) {
    if (ticketId !== this.ticketId) {
      this.actions.reset();
    }
    this.ticketId = ticketId;
    await this.load(focus);
  }

  reload() {
    return this.ticketId === null ? Promise.resolve() : this.load(false);
  }

  async afterAction() {
    await Promise.all([this.reload(), this.onChanged()]);
  }

  /** Someone else changed ticket ``ticketId`` (a hub notice): re-read it unless the user is filling a form. */
  changedElsewhere(ticketId) {
    if (ticketId !== this.ticketId) {
      return;
    }
    if (this.actions.formOpen()) {
      this.actions.say("该工单有新动态；如提交时版本已过期，页面会提示并刷新。", "info");
    } else {
      this.reload();
    }
  }

  async load(focus) {
    const request = ++this.request;
    const id = segment(this.ticketId);
    this.ui.panel.setAttribute("aria-busy", "true");
    if (this.ui.body.hidden) {
      this.ui.status.hidden = false;
      this.ui.status.textContent = "正在加载工单…";
    }
    const [ticket, timeline, items, allowed] = await Promise.allSettled([
      api(`/api/tickets/${id}`), api(`/api/tickets/${id}/timeline`), api(`/api/tickets/${id}/work-items`),
      api(`/api/tickets/${id}/allowed-actions`),
    ]);
    if (request !== this.request) {
      return;
    }
    this.ui.panel.setAttribute("aria-busy", "false");
    if (ticket.status === "rejected") {
      this.failed(ticket.reason);
      return;
    }
    const t = ticket.value;
    this.ui.denied.hidden = true;
    this.ui.status.hidden = true;
    this.ui.body.hidden = false;
    this.showHead(t);
    this.showFacts(t);
    this.showDetails(t);
    this.showItems(items);
    if (timeline.status === "fulfilled") {
      showTimeline(this.ui.timeline, this.ui.timelineCount, timeline.value || [], this.context);
    } else {
      this.ui.timeline.replaceChildren(el("li", "tl-empty error", "处理轨迹加载失败，请刷新重试。"));
    }
    this.actions.show(t, allowed.status === "fulfilled" ? allowed.value : null,
      allowed.status === "rejected" ? allowed.reason : null);
    if (focus) {
      this.ui.heading.focus();
    }
  }

  failed(err) {
    this.ui.body.hidden = true;
    this.ui.status.hidden = true;
    const missing = err instanceof ApiError && (err.status === 404 || err.status === 403);
    this.ui.deniedTitle.textContent = missing ? "工单不存在或您无权查看" : "工单加载失败";
    this.ui.deniedDetail.textContent = missing
      ? "该工单不在您所在机构及下级机构的范围内，或工单号有误。"
      : (err instanceof ApiError ? err.detail : "请稍后重试。");
    this.ui.denied.hidden = false;
  }

  showHead(t) {
    this.ui.heading.textContent = `工单 ${t.number}`;
    const badges = [el("span", "chip", this.context.typeLabel(t.type)), statusChip(t.status),
      priorityBadge(t.priority, t.supervised_at), dueBadge(t.due_state)]
      .concat((t.risk_flags || []).map((f) => el("span", "badge badge-red", RISK_FLAGS[f] || f)));
    this.ui.headBadges.replaceChildren(...badges.filter(Boolean));
    this.ui.subject.textContent = shown(t.subject);
  }

  showFacts(t) {
    const days = t.decision_days ? `（${t.decision_days} 日${t.excluded_days ? `，另扣除鉴定 ${t.excluded_days} 日` : ""}）` : "";
    const facts = [
      fact("诉求", t.demand, { wide: true }),
      fact("投诉人/来电人", t.complainant_name),
      fact("联系电话", t.complainant_phone, { mono: true }),
      fact("证件号码", t.complainant_id_number, { mono: true }),
      fact("来电号码", t.caller_phone, { mono: true }),
      fact("保单号", t.policy_number, { mono: true }),
      fact("渠道", this.context.code("channel", t.channel)),
      fact("受理时间", formatDateTime(t.received_at)),
      fact("办结时限", t.decision_due_at ? `${deadline(t.decision_due_at)}${days}` : EMPTY),
      fact("所属机构", this.context.orgName(t.org_id)),
    ];
    if (t.supervised_at) {
      facts.push(fact("督办时间", formatDateTime(t.supervised_at)));
    }
    if (t.closed_at) {
      facts.push(fact("办结时间", formatDateTime(t.closed_at)));
    }
    if (t.merged_into_id) {
      const link = el("a", null, `查看合并后的工单`);
      link.href = `/tickets?id=${encodeURIComponent(t.merged_into_id)}`;
      facts.push(fact("已合并至", null, { node: link }));
    }
    this.ui.facts.replaceChildren(...facts);
  }

  detailValue(spec, value) {
    if (spec.codes) {
      return this.context.code(spec.codes, value);
    }
    if (spec.datetime) {
      return formatDateTime(value);
    }
    if (spec.bool) {
      return yesNo(value);
    }
    if (spec.org) {
      return value === null || value === undefined ? EMPTY : this.context.orgName(value);
    }
    return typeof value === "object" && value !== null ? JSON.stringify(value) : shown(value);
  }

  showDetails(t) {
    const facts = [];
    const add = (fields, values, prefix = "") => {
      for (const [key, value] of Object.entries(values || {})) {
        const spec = fields[key] || { label: `${prefix}${key}` };
        if (spec.nested && value && typeof value === "object") {
          add(spec.nested, value, `${spec.label}·`);
        } else {
          facts.push(fact(spec.label, this.detailValue(spec, value), { mono: Boolean(spec.mono) }));
        }
      }
    };
    add(DETAIL_FIELDS, t.details);
    this.ui.detailsCard.hidden = !facts.length;
    this.ui.details.replaceChildren(...facts);
  }

  holder(item) {
    const org = this.context.orgName(item.org_id);
    if (item.assignee_kind === "user") {
      return `${org} · 指定人员#${item.assignee_user_id}`;
    }
    if (item.assignee_kind === "role_at_org") {
      return `${org} · ${ROLES[item.assignee_role] || shown(item.assignee_role)}`;
    }
    return `${org} · 处理人员`;
  }

  showItems(result) {
    if (result.status === "rejected") {
      this.ui.items.replaceChildren(el("li", "status error", "办理环节加载失败。"));
      return;
    }
    const active = (result.value || []).filter((i) => ACTIVE_ITEMS.has(i.status));
    this.ui.items.replaceChildren(...active.map((i) => {
      const li = el("li", "work-item");
      li.dataset.step = i.step;
      const top = el("div", "work-item-top");
      top.append(el("strong", null, stepLabel(i.step)), el("span", "chip", ITEM_STATUS[i.status] || i.status));
      const due = dueBadge(i.due_state);
      if (due) {
        top.append(due);
      }
      li.append(top, el("p", "work-item-who", this.holder(i)),
        el("p", "work-item-when mono", `接收 ${formatDateTime(i.received_at)} · 时限 ${deadline(i.due_at)}`));
      return li;
    }));
    if (!active.length) {
      this.ui.items.replaceChildren(el("li", "status-none", "当前没有待办理的环节。"));
    }
  }
}
