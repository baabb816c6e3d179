// The desk page loads again with no network where the browser allows a service
// worker (a secure context: https, or 127.0.0.1/localhost); on plain http in a
// school LAN there is none, and the queue of scans (queue.js) works without it.
//
// The worker's file is /static/sw.js, but the gateway serves it with
// `Service-Worker-Allowed: /`, so it is registered for the whole site (scope "/") and
// keeps the page at "/": every screen, the desk's too, keeps its address /#/… and the
// desk reloaded offline comes from the worker. It answers nothing under /api/ (the
// network only). Imported by main.js.
const SCRIPT = "/static/sw.js";
const SCOPE = "/";

export const shellKept = typeof window !== "undefined" && window.isSecureContext && "serviceWorker" in navigator;

async function register() {
  await navigator.serviceWorker.register(SCRIPT, { scope: SCOPE });
  // An earlier release's worker kept only /static/ (the desk's old address): let it go.
  for (const old of await navigator.serviceWorker.getRegistrations()) {
    if (new URL(old.scope).pathname !== SCOPE) await old.unregister();
  }
}

if (shellKept) {
  register().catch(() => {
    // no worker: the page needs the network to load, the desk's queue still works
  });
}
