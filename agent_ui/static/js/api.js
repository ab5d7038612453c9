/**
 * The console's one way to call the JSON API.
 *
 * Requests are same-origin and carry the HttpOnly session cookie. Bodies go out and come back as
 * JSON. An RFC 9457 problem response (application/problem+json) becomes an ApiError with its
 * title, detail and field errors. A 401 sends the browser to the login page unless the caller
 * handles it itself (the login form does).
 */

export const LOGIN_PATH = "/login";

export class ApiError extends Error {
  constructor(status, problem) {
    const body = problem && typeof problem === "object" ? problem : {};
    super(body.detail || body.title || `请求失败（HTTP ${status}）`);
    this.name = "ApiError";
    this.status = status;
    this.title = typeof body.title === "string" ? body.title : "";
    this.detail = typeof body.detail === "string" ? body.detail : this.message;
    this.errors = Array.isArray(body.errors) ? body.errors : [];
    this.problem = body;
  }

  /** Field errors of a 422 for ``field`` (as the server names it), as plain messages. */
  messagesFor(field) {
    return this.errors
      .filter((e) => e && (e.field === field || String(e.field || "").endsWith(`.${field}`)))
      .map((e) => String(e.message || ""))
      .filter(Boolean);
  }
}

export function goToLogin() {
  window.location.assign(LOGIN_PATH);
}

function withQuery(path, query) {
  if (!query) {
    return path;
  }
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") {
      params.append(key, String(value));
    }
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function readBody(response) {
  if (response.status === 204) {
    return null;
  }
  const type = response.headers.get("content-type") || "";
  if (!type.includes("json")) {
    return null;
  }
  try {
    return await response.json();
  } catch {
    return null;
  }
}

/**
 * Call the API. Options: method, body (sent as JSON), query (object of search parameters),
 * signal (AbortSignal), redirectOn401 (default true).
 */
export async function api(path, options = {}) {
  const { method = "GET", body, query, signal, redirectOn401 = true } = options;
  const headers = { Accept: "application/json, application/problem+json" };
  const init = { method, headers, credentials: "same-origin", cache: "no-store", signal };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(withQuery(path, query), init);
  } catch (err) {
    if (err && err.name === "AbortError") {
      throw err;
    }
    throw new ApiError(0, { title: "网络错误", detail: "无法连接服务器，请检查网络后重试。" });
  }
  const data = await readBody(response);
  if (response.ok) {
    return data;
  }
  const error = new ApiError(response.status, data);
  if (response.status === 401 && redirectOn401) {
    goToLogin();
  }
  throw error;
}

/** One path segment, escaped: ids come from the API and are never trusted to be URL-safe. */
export function segment(value) {
  return encodeURIComponent(String(value));
}
