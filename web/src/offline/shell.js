// The desk page loads again with no network where the browser allows a service
// worker (a secure context: https, or 127.0.0.1/localhost); on plain http in a
// school LAN there is none, and the queue of scans (queue.js) works without it.
//
// The gateway serves the page at "/" and its files under "/static/", where the
// worker (/static/sw.js) lives; a worker may only keep the pages under its own
// folder. So the desk's screens (keepAddress) take the same page's other address,
// /static/index.html#/desk/… (served by the gateway as any static file): reloaded
// there, the page comes from the worker. Other screens keep "/". Imported by main.js.
const SCOPE = "/static/";
const PAGE = `${SCOPE}index.html`;

export const shellKept = typeof window !== "undefined" && window.isSecureContext && "serviceWorker" in navigator;

if (shellKept) {
  navigator.serviceWorker.register(`${SCOPE}sw.js`, { scope: SCOPE }).catch(() => {
    // no worker: the page needs the network to load, the desk's queue still works
  });
}

/** On a screen that must load offline (the desk): take the address the worker keeps,
 * without loading anything (the hash router reads only the part after "#"). */
export function keepAddress() {
  if (!shellKept || window.location.pathname === PAGE) return;
  window.history.replaceState(window.history.state, "", `${PAGE}${window.location.search}${window.location.hash}`);
}
