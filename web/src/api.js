// The screens talk to the gateway's HTTP API like any client (docs: /openapi.json).
//
// Read your own writes: a command's answer names the positions its events got
// (header X-Event-Positions: "circulation=1234,catalog=56"); every later query of
// this tab sends the highest it has seen (X-Read-After), and the gateway answers
// as of at least those positions, waiting briefly for the read models. So a lent
// book is in the reader's loans at once, with no sleep and no polling here.
// Refusals come back as problem documents with a code; errors.js words them.
import { session, forget } from "./session.js";
import { uuid } from "./offline/ids.js";

const seen = {}; // source -> highest position this tab's commands got

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem.code || null;
    this.problem = problem;
    this.errors = problem.errors || null;
  }
}

export function positionsHeader() {
  return Object.entries(seen)
    .map(([source, position]) => `${source}=${position}`)
    .join(",");
}

function parsePositions(header) {
  const out = {};
  for (const part of (header || "").split(",")) {
    const [source, position] = part.trim().split("=");
    const at = Number(position);
    if (source && Number.isInteger(at) && at > (out[source] || 0)) out[source] = at;
  }
  return out;
}

function mergePositions(...headers) {
  const merged = {};
  for (const header of headers) {
    for (const [source, at] of Object.entries(parsePositions(header))) {
      if (at > (merged[source] || 0)) merged[source] = at;
    }
  }
  return Object.entries(merged)
    .map(([source, position]) => `${source}=${position}`)
    .join(",");
}

function remember(header) {
  for (const [source, at] of Object.entries(parsePositions(header))) {
    if (at > (seen[source] || 0)) seen[source] = at;
  }
}

let pending = 0;

/** How many calls are on their way, on <html data-requests>: a test waits for 0. */
function inFlight(change) {
  pending += change;
  document.documentElement.dataset.requests = String(pending);
}

/** A fresh id for a command, so that sending it twice does it once. */
export function commandId() {
  return uuid(); // crypto.randomUUID is missing over plain http: uuid() does without it
}

/**
 * Call the API. `body` is sent as JSON (or as is when it is FormData/Blob);
 * answers JSON, text for CSV, null for 204. Throws ApiError with the problem's
 * code; a 401 forgets the session so the router shows the sign-in form.
 */
export async function api(method, path, { body, query, accept, headers = {}, raw = false } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const sent = { Accept: accept || "application/json", ...headers };
  if (session.token) sent.Authorization = `Bearer ${session.token}`;
  if (method === "GET") {
    // The caller's own positions (e.g. "as of this pushed event") and this tab's, the higher of each.
    const after = mergePositions(headers["X-Read-After"], positionsHeader());
    if (after) sent["X-Read-After"] = after;
  }
  let payload;
  if (body instanceof FormData || body instanceof Blob) payload = body;
  else if (body !== undefined) {
    payload = JSON.stringify(body);
    sent["Content-Type"] = "application/json";
  }
  let response;
  inFlight(+1);
  try {
    response = await fetch(url, { method, headers: sent, body: payload });
  } catch (error) {
    throw new ApiError(0, { code: "unreachable", detail: String(error) });
  } finally {
    inFlight(-1);
  }
  remember(response.headers.get("X-Event-Positions"));
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  if (!response.ok) {
    let problem = { title: response.statusText };
    if (type.includes("json")) problem = await response.json();
    if (response.status === 401 && path !== "/api/sessions") {
      forget();
      window.dispatchEvent(new CustomEvent("library:signed-out", { detail: problem.code || "expired" }));
    }
    throw new ApiError(response.status, problem);
  }
  if (raw) return response; // a file: the caller reads its bytes and its name
  if (type.includes("json")) return response.json();
  return response.text();
}

export const get = (path, query, options = {}) => api("GET", path, { ...options, query });
export const post = (path, body, options = {}) => api("POST", path, { ...options, body });

/** The name a file is saved under: Content-Disposition's filename* (UTF-8: 购书情况登记表.xlsx),
 * else its ASCII filename, else `fallbackName`. */
function savedName(response, fallbackName) {
  const disposition = response.headers.get("Content-Disposition") || "";
  const worded = disposition.match(/filename\*=UTF-8''([^;]+)/i);
  if (worded) {
    try {
      return decodeURIComponent(worded[1]);
    } catch {
      // a malformed name: the plain one below
    }
  }
  const named = disposition.match(/filename="([^"]+)"/);
  return named ? named[1] : fallbackName;
}

/**
 * Download a list as a file: the same route with ?format= (xlsx, csv, pdf) and the
 * screen's language for its headers, saved under the name the server gives.
 */
export async function download(path, query, format, lang) {
  const response = await api("GET", path, { query: { ...query, format, lang }, raw: true });
  return saveResponse(response, `${path.split("/").pop()}.${format}`);
}

/** Download a file the API makes (a PDF of labels, ...), saved under the name the server gives. */
export async function downloadFile(path, query, accept, fallbackName) {
  return saveResponse(await api("GET", path, { query, accept, raw: true }), fallbackName);
}

async function saveResponse(response, fallbackName) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = savedName(response, fallbackName);
  document.body.appendChild(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(link.href);
  return link.download;
}
