// Whether the desk can reach the library's server, and sending the scans kept
// meanwhile (queue.js) when it can again.
//
// The link is taken as lost when a command gets no answer (a network failure, or
// 502/503/504 from a proxy in front of a stopped gateway), never for a refusal (4xx:
// the server did answer). While it is lost, or while scans are still waiting, every
// new scan joins the queue, so the server gets them in the order they were scanned.
// It is found again by the browser's "online" event and by asking GET /api/me every
// few seconds (a cheap question any signed-in person may ask). Then the queue is sent
// with POST /api/offline, oldest first, 500 at most at a time (one campus a time),
// and each scan answered for (applied, or kept by the server as a conflict for the
// librarian) leaves the queue. A refusal of the whole batch (400: a bad entry) keeps
// them all and says why; the scans it names are held (kept, shown with the fields the
// server named, not sent again on their own: the librarian may drop them) and the
// others are sent without them, so one bad scan does not stop the desk. A link lost
// midway keeps the rest for the next time.
import { reactive } from "vue";
import { ApiError, get, post } from "../api.js";
import { asCommand, forget, hold, keep, waiting } from "./queue.js";

export const CHUNK = 500;
const PROBE_MS = 5000;
const NO_ANSWER = new Set([0, 502, 503, 504]);

export const link = reactive({
  online: typeof navigator === "undefined" ? true : navigator.onLine !== false,
  queued: [], // the scans waiting, oldest first (those the server refused: `held`)
  loaded: false,
  syncing: false,
  summary: null, // the last sending: {applied, already, conflicts}
  error: null, // why the server refused the last batch: {code, status, problem, entries: [{entry, fields}]}
});

const listeners = new Set();
let probeTimer = null;
let started = false;

/** Whether an error means the server was not reached (as opposed to refusing). */
export function unreachable(error) {
  return !(error instanceof ApiError) || NO_ANSWER.has(error.status);
}

/** The scans to send: those waiting that the server has not refused. */
export function sendable() {
  return link.queued.filter((entry) => !entry.held);
}

/** Whether a new scan must join the queue rather than go straight to the server. */
export function mustQueue() {
  return !link.online || sendable().length > 0 || link.syncing;
}

/** Hear each queued scan's fate: listener(entry, {applied} | {conflict}). Returns a stop. */
export function onSynced(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Read the queue kept in this browser (after a reload) and watch the link. */
export async function startLink() {
  if (!started) {
    started = true;
    window.addEventListener("offline", lost);
    window.addEventListener("online", probe);
  }
  if (navigator.onLine === false) link.online = false; // lost before this screen listened
  if (!link.loaded) {
    // Once a page: from then on every change goes through link.queued and IndexedDB alike.
    link.loaded = true;
    const kept = await waiting();
    const known = new Set(link.queued.map((entry) => entry.seq));
    link.queued = [...kept.filter((entry) => !known.has(entry.seq)), ...link.queued];
  }
  if (!link.online || sendable().length) scheduleProbe(0);
}

/** Keep one scan while the server cannot be reached; answers the entry. */
export async function queueScan(scan) {
  const entry = await keep(scan);
  link.queued.push(entry);
  if (link.online && !link.syncing) syncNow(); // the link is there: send it behind the others
  else scheduleProbe(PROBE_MS);
  return entry;
}

/** A command got no answer: the link is lost; ask every few seconds until it is back. */
export function lost() {
  link.online = false;
  scheduleProbe(PROBE_MS);
}

function scheduleProbe(delay) {
  if (probeTimer) return;
  probeTimer = setTimeout(() => {
    probeTimer = null;
    probe();
  }, delay);
}

/** Ask the server whether it answers; when it does, send what is waiting. */
export async function probe() {
  try {
    await get("/api/me");
  } catch (error) {
    if (unreachable(error)) {
      lost();
      return;
    }
    // It answered (a refusal is an answer): the link is there.
  }
  link.online = true;
  if (sendable().length) await syncNow();
}

function nextChunk(entries) {
  const campus = entries[0].campus;
  const chunk = [];
  for (const entry of entries) {
    if (entry.campus !== campus || chunk.length === CHUNK) break;
    chunk.push(entry);
  }
  return chunk;
}

/** The offending entries of a 400, from its `errors` ({"entries": {"3": {"barcode": [...]}}}
 * or {"entries.3.barcode": [...]}): which scan, which fields. */
function badEntries(error, chunk) {
  const found = new Map();
  const walk = (value, path) => {
    if (value && typeof value === "object" && !Array.isArray(value)) {
      for (const [key, inner] of Object.entries(value)) walk(inner, [...path, ...String(key).split(/[.[\]]+/).filter(Boolean)]);
      return;
    }
    const at = path.indexOf("entries");
    const index = at >= 0 ? Number(path[at + 1]) : NaN;
    if (!Number.isInteger(index) || !chunk[index]) return;
    const fields = found.get(index) || new Set();
    if (path[at + 2]) fields.add(path[at + 2]);
    found.set(index, fields);
  };
  walk(error.errors || {}, []);
  return [...found].map(([index, fields]) => ({ entry: chunk[index], fields: [...fields] }));
}

function tell(entry, fate) {
  for (const listener of listeners) {
    try {
      listener(entry, fate);
    } catch {
      // a listener's trouble is not the queue's
    }
  }
}

/** Send the waiting scans, oldest first; answers the summary of this sending. */
export async function syncNow() {
  if (link.syncing || !sendable().length) return link.summary;
  link.syncing = true;
  link.error = null;
  const summary = { applied: 0, already: 0, conflicts: 0 };
  let sent = false;
  try {
    while (sendable().length) {
      const chunk = nextChunk(sendable());
      let answer;
      try {
        answer = await post("/api/offline", { campus: chunk[0].campus, entries: chunk.map(asCommand) });
      } catch (error) {
        if (unreachable(error)) {
          lost();
          break;
        }
        const bad = badEntries(error, chunk);
        link.error = { code: error.code, status: error.status, problem: error.problem, entries: bad, error };
        if (!bad.length) break; // which scan is not said: keep them all, as they are
        for (const { entry, fields } of bad) {
          entry.held = { status: error.status, code: error.code || null, fields };
          await hold(entry);
        }
        continue; // the others, without the scans refused
      }
      sent = true;
      const byId = new Map(chunk.map((entry) => [entry.command_id, entry]));
      const answered = new Set();
      for (const applied of answer.applied || []) {
        const entry = byId.get(applied.command_id);
        if (!entry) continue;
        answered.add(entry);
        summary.applied += 1;
        if (applied.already) summary.already += 1;
        tell(entry, { applied });
      }
      for (const conflict of answer.conflicts || []) {
        const entry = byId.get(conflict.command_id);
        if (!entry) continue;
        answered.add(entry);
        summary.conflicts += 1;
        tell(entry, { conflict });
      }
      const done = new Set([...answered].map((entry) => entry.seq));
      await forget([...done]);
      link.queued = link.queued.filter((entry) => !done.has(entry.seq));
      if (answered.size < chunk.length) {
        link.error = { code: "offline_unanswered", status: 200, problem: {}, entries: [], error: null };
        break;
      }
    }
  } finally {
    link.syncing = false;
  }
  if (sent) link.summary = summary;
  if (sendable().length && !link.online) scheduleProbe(PROBE_MS);
  return summary;
}

/** Drop a scan the server refused (the librarian's choice: a wrong scan, done by hand). */
export async function drop(entry) {
  await forget([entry.seq]);
  link.queued = link.queued.filter((one) => one.seq !== entry.seq);
  if (!link.queued.some((one) => one.held)) link.error = null;
}
