/**
 * The left side of 工单处理: the tabs 我的待办 / 我的已办 / 我的已结案 (and 督办件 / 将超期件 for users who
 * oversee a subtree), each a list of tickets from /api/workflow/*.
 *
 * The tabs are an ARIA tablist (←/→, Home/End move and select). Each row is a link to ``?id=<ticket>`` so it
 * can be opened in a new tab too; in the list ↑/↓/Home/End move between rows (one row is in the Tab order)
 * and Enter or a click opens the ticket on the right without leaving the page.
 */

import { ApiError, api } from "../api.js";
import { EMPTY, el, formatDateTime, shown } from "../dom.js";
import { actionLabel, deadline, dueBadge, priorityBadge, statusChip, stepLabel } from "./labels.js";

const TABS = {
  todo: { path: "/api/workflow/todo", exportPath: "/api/workflow/todo.xlsx", empty: "暂无待办工单。" },
  done: { path: "/api/workflow/done", exportPath: "/api/workflow/done.xlsx", empty: "暂无已办工单。" },
  closed: { path: "/api/workflow/closed", empty: "暂无您结案的工单。" },
  supervised: { path: "/api/workflow/supervised", empty: "本机构及下级暂无督办件。", subtree: true },
  "due-soon": { path: "/api/workflow/due-soon", empty: "本机构及下级暂无将超期或超期工单。", subtree: true },
};

export const TAB_NAMES = Object.keys(TABS);

function badges(...nodes) {
  const holder = el("span", "row-badges");
  holder.append(...nodes.filter(Boolean));
  return holder;
}

export class TicketLists {
  /**
   * ``ui``: tablist, tabs (buttons with data-tab), panel, list, count, status, exportLink, refresh.
   * ``context``: the PageContext. ``onOpen(ticketId)`` opens a ticket on the right.
   */
  constructor({ ui, context, onOpen }) {
    this.ui = ui;
    this.context = context;
    this.onOpen = onOpen;
    this.tab = "todo";
    this.currentId = null;
    this.request = 0;
  }

  start(tab) {
    const subtree = this.context.seesSubtree();
    for (const button of this.ui.tabs) {
      button.hidden = Boolean(TABS[button.dataset.tab].subtree) && !subtree;
      button.addEventListener("click", () => this.select(button.dataset.tab));
    }
    this.ui.tablist.addEventListener("keydown", (event) => this.onTabKey(event));
    this.ui.list.addEventListener("keydown", (event) => this.onListKey(event));
    this.ui.list.addEventListener("click", (event) => this.onListClick(event));
    this.ui.refresh.addEventListener("click", () => this.reload());
    this.select(this.visible(tab) ? tab : "todo", { focus: false });
  }

  visible(tab) {
    const button = this.ui.tabs.find((b) => b.dataset.tab === tab);
    return Boolean(button && !button.hidden);
  }

  // --- tabs

  select(tab, { focus = false } = {}) {
    this.tab = tab;
    for (const button of this.ui.tabs) {
      const selected = button.dataset.tab === tab;
      button.setAttribute("aria-selected", String(selected));
      button.tabIndex = selected ? 0 : -1;
      if (selected) {
        this.ui.panel.setAttribute("aria-labelledby", button.id);
        if (focus) {
          button.focus();
        }
      }
    }
    const spec = TABS[tab];
    this.ui.exportLink.hidden = !spec.exportPath;
    if (spec.exportPath) {
      this.ui.exportLink.href = spec.exportPath;
    }
    this.remember();
    return this.reload();
  }

  onTabKey(event) {
    const tabs = this.ui.tabs.filter((b) => !b.hidden);
    const at = tabs.findIndex((b) => b.dataset.tab === this.tab);
    const next = {
      ArrowRight: (at + 1) % tabs.length,
      ArrowLeft: (at - 1 + tabs.length) % tabs.length,
      Home: 0,
      End: tabs.length - 1,
    }[event.key];
    if (next === undefined) {
      return;
    }
    event.preventDefault();
    this.select(tabs[next].dataset.tab, { focus: true });
  }

  /** The tab and the open ticket live in the address, so a link (or a reload) opens the same view. */
  remember() {
    const url = new URL(window.location.href);
    url.searchParams.set("tab", this.tab);
    window.history.replaceState(window.history.state, "", url);
  }

  // --- rows

  async reload() {
    const request = ++this.request;
    const spec = TABS[this.tab];
    const hadFocus = this.ui.list.contains(document.activeElement)
      ? document.activeElement.dataset.ticketId : null;
    this.ui.list.setAttribute("aria-busy", "true");
    this.ui.refresh.disabled = true;
    try {
      const rows = await api(spec.path);
      if (request !== this.request) {
        return;
      }
      this.show(Array.isArray(rows) ? rows : [], spec, hadFocus);
    } catch (err) {
      if (request !== this.request) {
        return;
      }
      this.ui.list.replaceChildren();
      this.ui.count.textContent = "";
      this.setStatus(err instanceof ApiError && err.status === 403 ? "您的角色无权查看该列表。"
        : `列表加载失败：${err instanceof ApiError ? err.detail : "请稍后重试"}`, true);
    } finally {
      if (request === this.request) {
        this.ui.list.setAttribute("aria-busy", "false");
        this.ui.refresh.disabled = false;
      }
    }
  }

  setStatus(text, error = false) {
    this.ui.status.textContent = text;
    this.ui.status.classList.toggle("error", error);
  }

  show(rows, spec, hadFocus) {
    const items = rows.map((row) => this.item(row));
    this.ui.list.replaceChildren(...items);
    this.ui.count.textContent = `（${rows.length} 件）`;
    this.setStatus(rows.length ? "" : spec.empty);
    this.markCurrent(this.currentId);
    if (hadFocus) {
      const again = this.rowFor(hadFocus) || this.links()[0];
      if (again) {
        this.focusRow(again);
      }
    }
  }

  item(row) {
    const link = el("a", "ticket-row");
    const ticketId = row.ticket_id !== undefined ? row.ticket_id : row.id;
    const url = new URL(window.location.href);
    url.searchParams.set("id", String(ticketId));
    link.href = `${url.pathname}${url.search}`;
    link.dataset.ticketId = String(ticketId);
    link.tabIndex = -1;
    if (this.tab === "todo") {
      this.todoRow(link, row);
    } else if (this.tab === "done") {
      this.doneRow(link, row);
    } else {
      this.lineRow(link, row);
    }
    const item = el("li");
    item.append(link);
    return item;
  }

  head(number, type, ...extra) {
    const top = el("span", "row-top");
    top.append(el("span", "row-number mono", shown(number)));
    if (type) {
      top.append(el("span", "row-type", this.context.typeLabel(type)));
    }
    top.append(badges(...extra));
    return top;
  }

  todoRow(link, w) {
    link.dataset.workItemId = String(w.id);
    link.append(
      this.head(w.ticket_number, w.ticket_type, priorityBadge(w.priority), dueBadge(w.due_state)),
      el("span", "row-subject", shown(w.subject)),
      el("span", "row-meta", `${stepLabel(w.step)} · 环节时限 ${deadline(w.due_at)}`
        + (w.decision_due_at ? ` · 办结时限 ${deadline(w.decision_due_at)}` : "")),
    );
  }

  doneRow(link, d) {
    link.append(
      this.head(d.ticket_number, null),
      el("span", "row-meta", `最近办理：${actionLabel(d.last_action)} · ${formatDateTime(d.last_acted_at)}`),
    );
  }

  lineRow(link, t) {
    const top = this.head(t.number, t.type, priorityBadge(t.priority, t.supervised_at), dueBadge(t.due_state));
    top.insertBefore(statusChip(t.status), top.lastChild);
    const when = this.tab === "closed"
      ? `办结于 ${t.closed_at ? formatDateTime(t.closed_at) : EMPTY}`
      : `办结时限 ${deadline(t.decision_due_at)}`;
    link.append(top, el("span", "row-subject", shown(t.subject)),
      el("span", "row-meta", `${this.context.orgName(t.org_id)} · ${when}`));
  }

  links() {
    return [...this.ui.list.querySelectorAll("a.ticket-row")];
  }

  rowFor(ticketId) {
    return this.ui.list.querySelector(`a.ticket-row[data-ticket-id="${CSS.escape(String(ticketId))}"]`);
  }

  /** Highlights the open ticket's row and makes it the row Tab lands on. */
  markCurrent(ticketId) {
    this.currentId = ticketId;
    const links = this.links();
    let tabbable = null;
    for (const link of links) {
      const current = ticketId !== null && link.dataset.ticketId === String(ticketId);
      if (current) {
        link.setAttribute("aria-current", "true");
        tabbable = tabbable || link;
      } else {
        link.removeAttribute("aria-current");
      }
      link.tabIndex = -1;
    }
    tabbable = tabbable || links[0];
    if (tabbable) {
      tabbable.tabIndex = 0;
    }
  }

  focusRow(link) {
    for (const other of this.links()) {
      other.tabIndex = other === link ? 0 : -1;
    }
    link.focus();
  }

  onListKey(event) {
    if (event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    const links = this.links();
    const at = links.indexOf(document.activeElement);
    if (at < 0) {
      return;
    }
    const next = {
      ArrowDown: Math.min(at + 1, links.length - 1),
      ArrowUp: Math.max(at - 1, 0),
      Home: 0,
      End: links.length - 1,
    }[event.key];
    if (next !== undefined) {
      event.preventDefault();
      this.focusRow(links[next]);
    }
  }

  onListClick(event) {
    const link = event.target.closest("a.ticket-row");
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) {
      return; // a modified click opens the link in a new tab, as links do
    }
    event.preventDefault();
    this.focusRow(link);
    this.onOpen(Number(link.dataset.ticketId));
  }
}
