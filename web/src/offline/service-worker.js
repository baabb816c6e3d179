// The service worker of the library's screens (built to /static/sw.js by the
// `offlineShell` plugin in vite.config.js, which puts VERSION and SHELL, this
// build's files, in front of this text). The gateway serves it with
// `Service-Worker-Allowed: /` and the page registers it for the whole site (scope
// "/", offline/shell.js), so it keeps the page at "/" where every screen lives:
// the desk page loads again with no network at its own address (/#/desk/…); the
// desk's scans are kept by the page itself (IndexedDB), not here.
// It answers only two things: the page at "/" and the built files under /static/.
// Everything else, and above all every question to /api/, is left to the network
// (no respondWith at all): an API answer is never kept nor given from a cache, so
// nothing old is ever shown as current.
/* global VERSION, SHELL */
const CACHE = `library-shell-${VERSION}`;
const PAGE = "/";

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll([PAGE, ...SHELL.map((name) => `/static/${name}`)]);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith("library-shell-") && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

/** The page: the network's when it answers (a new release shows at once), else the one
 * kept (also when a proxy in front of a stopped gateway answers 502/503/504). */
async function page(request) {
  const cache = await caches.open(CACHE);
  try {
    const answer = await fetch(request);
    if (answer.ok) await cache.put(PAGE, answer.clone());
    if (answer.status < 502) return answer;
    return (await cache.match(PAGE)) || answer;
  } catch (error) {
    const kept = await cache.match(PAGE);
    if (kept) return kept;
    throw error;
  }
}

/** A built file: its name changes with its content, so the one kept is the right one. */
async function file(request) {
  const cache = await caches.open(CACHE);
  const kept = await cache.match(request);
  if (kept) return kept;
  const answer = await fetch(request);
  if (answer.ok) await cache.put(request, answer.clone());
  return answer;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/")) return; // the API: the network only, never a cache
  if (url.pathname === PAGE && request.mode === "navigate") event.respondWith(page(request));
  else if (url.pathname.startsWith("/static/") && request.mode !== "navigate") event.respondWith(file(request));
  // anything else (/openapi.json, a file opened by its address...): the network only
});
