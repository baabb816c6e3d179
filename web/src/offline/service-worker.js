// The service worker of the library's screens (built to /static/sw.js by the
// `offlineShell` plugin in vite.config.js, which puts VERSION and SHELL, this
// build's files, in front of this text). It keeps the app shell, so the desk page
// loads again with no network; the desk's scans are kept by the page itself
// (IndexedDB), not here. The API is never answered from a cache: a question to
// /api/ goes to the network or fails, so nothing old is ever shown as current.
/* global VERSION, SHELL */
const CACHE = `library-shell-${VERSION}`;
const PAGE = "/static/index.html";

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

/** The page: the network's when it answers (a new release shows at once), else the one kept. */
async function page(request) {
  const cache = await caches.open(CACHE);
  try {
    const answer = await fetch(request);
    if (answer.ok) await cache.put(PAGE, answer.clone());
    return answer;
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
  if (!url.pathname.startsWith("/static/")) return; // the API and the rest: the network only
  if (request.mode === "navigate") event.respondWith(page(request));
  else event.respondWith(file(request));
});
