// The field forms' service worker (issue 21, 3): the scripts, styles and new-record forms
// a tablet needs to fill in a form without a network, kept as they were last fetched.
// Network first, always: online nothing is served stale; offline the kept copy is.
// Pages with a record's data (edit forms, record pages) are never kept: they may hold
// personal data, and a tablet can be lost.
const CACHE = "mineaction-field-1";
const ASSETS = ["/web/static/css/app.css", "/web/static/js/common.js", "/web/static/js/form.js",
  "/web/static/js/basemap.js", "/web/static/js/frame_hold.js", "/web/static/js/draw.js", "/web/static/js/gps.js",
  "/web/static/js/picklist.js", "/web/static/js/victims_entry.js", "/web/static/js/offline.js",
  "/web/static/vendor/maplibre-gl/maplibre-gl.js", "/web/static/vendor/maplibre-gl/maplibre-gl.css"];
const NEW_FORM = /^\/records\/[a-z-]+\/new$/;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith("mineaction-field-") && k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) return;
  const asset = url.pathname.startsWith("/web/static/");
  const form = req.mode === "navigate" && NEW_FORM.test(url.pathname);
  if (!asset && !form) return;
  event.respondWith(fetch(req).then((res) => {
    if (res.ok && res.type === "basic") {
      const copy = res.clone();
      caches.open(CACHE).then((c) => c.put(req, copy));
    }
    return res;
  }).catch(() => caches.match(req, { ignoreSearch: true }).then((hit) => hit || Response.error())));
});
