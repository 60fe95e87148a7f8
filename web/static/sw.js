// Keeps the page working offline once loaded: every file of the page is cached at install
// (the cache named by the build, so a new build replaces it), then served from the cache.
"use strict";
const CACHE = "awsim-@BUILD@";
const FILES = ["./", "index.html", "style.css", "app.js", "worker.js", "scenarios.js",
  "awsim_web.js", "awsim_web_bg.wasm"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  if (event.request.method !== "GET") return;
  event.respondWith(caches.match(event.request, { ignoreSearch: true })
    .then((hit) => hit || fetch(event.request)));
});
