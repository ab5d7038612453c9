/** What the platform knows of the signed-in agent's phone when the page opens (GET
 * /api/telephony/agents/me/state): state, queues, the queues they may join, 话后处理's length, the call it is
 * on. Asked once per page load and shared by the state bar, the screen pop and the call controls; everything
 * after that arrives as events on the websocket. */

import { api } from "./api.js";

let asked = null;

/** The answer, or null when the user has no phone or may not control calls. */
export function myState() {
  if (asked === null) {
    asked = api("/api/telephony/agents/me/state").catch(() => null);
  }
  return asked;
}
