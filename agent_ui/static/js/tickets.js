/**
 * 工单处理: the page where handlers, agents and managers work their tickets — lists on the left
 * (tickets/lists.js), the open ticket with its timeline and allowed actions on the right (tickets/detail.js).
 *
 * The address carries the tab and the open ticket (``?tab=todo&id=42``), so a link opens a ticket and the
 * browser's back button goes to the one before. The page keeps the console's websocket (hub.js): a ticket
 * notice (assigned, supervised, urged, due soon, overdue) re-reads the list, and the open ticket if it is the
 * one concerned. Registrations raise no notice, so the list is also re-read every minute while visible.
 */

import { ApiError, api, goToLogin } from "./api.js";
import { $ } from "./dom.js";
import { Hub } from "./hub.js";
import { PageContext } from "./tickets/context.js";
import { TicketDetail } from "./tickets/detail.js";
import { TAB_NAMES, TicketLists } from "./tickets/lists.js";
import { logout as topLogout, showUser as showTopUser } from "./topbar.js";

const TICKET_READ = "ticket.read";
const POLL_MS = 60_000;
const NOTICE_RELOAD_MS = 300;

const ui = {
  main: $("main"),
  denied: $("access-denied"),
  userName: $("user-name"),
  connection: $("connection"),
  logout: $("logout"),
  liveNotice: $("live-notice"),
};

let lists = null;
let detail = null;
let hub = null;
let noticeTimer = null;


function logout() {
  topLogout(() => hub && hub.stop());
}

function refreshAll() {
  if (lists) {
    lists.reload();
  }
  if (detail) {
    detail.reload();
  }
}

function onShortcut(event) {
  if (!event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) {
    return;
  }
  if (event.code === "KeyR") {
    event.preventDefault();
    refreshAll();
  } else if (event.code === "KeyL") {
    event.preventDefault();
    logout();
  }
}

// --- the address: ?tab=…&id=…

function idFromAddress() {
  const id = Number(new URL(window.location.href).searchParams.get("id"));
  return Number.isInteger(id) && id > 0 ? id : null;
}

function tabFromAddress() {
  const tab = new URL(window.location.href).searchParams.get("tab");
  return TAB_NAMES.includes(tab) ? tab : "todo";
}

function openTicket(ticketId) {
  const url = new URL(window.location.href);
  if (url.searchParams.get("id") !== String(ticketId)) {
    url.searchParams.set("id", String(ticketId));
    window.history.pushState({ id: ticketId }, "", url);
  }
  lists.markCurrent(ticketId);
  detail.open(ticketId, { focus: true });
}

function followAddress() {
  const tab = tabFromAddress();
  if (tab !== lists.tab && lists.visible(tab)) {
    lists.select(tab);
  }
  const id = idFromAddress();
  lists.markCurrent(id);
  if (id === null) {
    detail.clear();
  } else {
    detail.open(id);
  }
}

// --- live: ticket notices from the hub

function onNotice(frame) {
  if (frame.stream !== "tickets") {
    return;
  }
  const data = frame.data || {};
  if (data.message) {
    ui.liveNotice.textContent = `新通知：${data.message}`;
  }
  // Several notices arrive together (a countersign asks many units): one re-read is enough.
  window.clearTimeout(noticeTimer);
  noticeTimer = window.setTimeout(() => lists.reload(), NOTICE_RELOAD_MS);
  if (Number.isInteger(data.ticket_id)) {
    detail.changedElsewhere(data.ticket_id);
  }
}

function startLive(me) {
  hub = new Hub({ userId: me.id, indicator: ui.connection, onEvent: onNotice, onAuthLost: goToLogin });
  hub.start();
  window.setInterval(() => {
    if (document.visibilityState === "visible") {
      lists.reload();
    }
  }, POLL_MS);
}

// --- start

async function start() {
  document.addEventListener("keydown", onShortcut);
  ui.logout.addEventListener("click", logout);
  let me;
  try {
    me = await api("/api/auth/me");
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) {
      ui.userName.textContent = "无法加载用户信息";
    }
    return;
  }
  showTopUser(me);
  if (!(me.permissions || []).includes(TICKET_READ)) {
    ui.denied.hidden = false;
    ui.connection.hidden = true;
    return;
  }
  const context = await PageContext.load(me);
  ui.main.hidden = false;
  lists = new TicketLists({
    ui: {
      tablist: $("tablist"),
      tabs: [...document.querySelectorAll("#tablist [role=tab]")],
      panel: $("list-panel"),
      list: $("ticket-list"),
      count: $("list-count"),
      status: $("list-status"),
      exportLink: $("list-export"),
      refresh: $("list-refresh"),
    },
    context,
    onOpen: openTicket,
  });
  detail = new TicketDetail({
    ui: {
      panel: $("detail"),
      status: $("detail-status"),
      denied: $("detail-denied"),
      deniedTitle: $("detail-denied-title"),
      deniedDetail: $("detail-denied-detail"),
      body: $("detail-body"),
      heading: $("detail-heading"),
      headBadges: $("detail-badges"),
      subject: $("detail-subject"),
      facts: $("ticket-facts"),
      details: $("ticket-details"),
      detailsCard: $("details-card"),
      items: $("work-items"),
      timeline: $("timeline"),
      timelineCount: $("timeline-count"),
      actionButtons: $("action-buttons"),
      actionForm: $("action-form"),
      actionResult: $("action-result"),
      actionsEmpty: $("actions-empty"),
    },
    context,
    onChanged: () => lists.reload(),
  });
  lists.start(tabFromAddress());
  followAddress(); // the tab is already the address's: this opens its ticket, if any
  window.addEventListener("popstate", followAddress);
  startLive(me);
}

start();
