// Events pushed by the gateway (GET /api/live, server-sent events), so the
// dashboard and the desk's reader panel change when the library does, without
// polling. Read with fetch rather than EventSource so the session's token goes
// in the Authorization header, not the address. Reconnects after a break,
// resuming after the last event seen (Last-Event-ID).
import { session } from "./session.js";

const listeners = new Set();
let controller = null;
let lastId = null;

function dispatch(block) {
  let type = "message";
  let data = "";
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) type = line.slice(6).trim();
    else if (line.startsWith("data:")) data += line.slice(5).trim();
    else if (line.startsWith("id:")) lastId = line.slice(3).trim();
  }
  if (!data) return;
  let event;
  try {
    event = JSON.parse(data);
  } catch {
    return;
  }
  for (const listener of listeners) listener(type, event);
}

async function run(signal) {
  let pause = 500;
  while (!signal.aborted && session.token) {
    try {
      const headers = { Accept: "text/event-stream", Authorization: `Bearer ${session.token}` };
      if (lastId) headers["Last-Event-ID"] = lastId;
      const response = await fetch("/api/live", { headers, signal });
      if (response.status === 401 || response.status === 403) return; // not for this person
      if (!response.ok || !response.body) throw new Error(`live: ${response.status}`);
      window.dispatchEvent(new CustomEvent("library:live", { detail: "connected" }));
      pause = 500;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          dispatch(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (error) {
      if (signal.aborted) return;
    }
    window.dispatchEvent(new CustomEvent("library:live", { detail: "reconnecting" }));
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(pause * 2, 10000);
  }
}

/** Call `listener(type, envelope)` for every event pushed; returns a function that stops it. */
export function onEvent(listener) {
  listeners.add(listener);
  if (!controller) {
    controller = new AbortController();
    run(controller.signal).finally(() => (controller = null));
  }
  return () => {
    listeners.delete(listener);
    if (!listeners.size && controller) {
      controller.abort();
      controller = null;
    }
  };
}
