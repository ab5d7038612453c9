/** The top bar every page shares: who is signed in, the other pages they may open, and 退出. */

import { api, goToLogin } from "./api.js";
import { $, el, shown } from "./dom.js";

/** Who is signed in, and the links to the pages their permissions open (``data-needs``: any one of them). */
export function showUser(me) {
  $("user-name").textContent = shown(me.display_name || me.username);
  $("user-org").textContent = shown(me.org_name);
  $("user-roles").replaceChildren(...(me.role_labels || []).map((label) => el("span", "role", label)));
  const permissions = new Set(me.permissions || []);
  for (const link of document.querySelectorAll(".page-links [data-needs]")) {
    link.hidden = !link.dataset.needs.split(" ").some((p) => permissions.has(p));
  }
}

let leaving = false;

/** Ends the session and goes to the login page. ``before`` runs first: a page closes its websocket there, so it
 * does not reconnect while the request is out. */
export async function logout(before) {
  if (leaving) {
    return;
  }
  leaving = true;
  const button = $("logout");
  button.disabled = true;
  button.textContent = "正在退出…";
  if (before) {
    before();
  }
  try {
    await api("/api/auth/logout", { method: "POST", redirectOn401: false });
  } catch {
    // The session is gone either way; the login page is the right place to be.
  }
  goToLogin();
}
