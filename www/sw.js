// The explorer's offline copy (a service worker). scripts/build.sh fills in VERSION
// (a hash of the build) and ASSETS (every file of dist/), so each build installs its
// own cache and removes the one before.
//
// Network first, the cache when the network fails: online, the page always runs the
// newest build (and never mixes a new page with an old engine, whose file names carry
// no hash); offline, it runs the last build installed, whole. Nothing is fetched but
// this site's own files.
const VERSION = '__VERSION__';
const ASSETS = __ASSETS__;
const PREFIX = 'attribution-explorer-';
const CACHE = PREFIX + VERSION;

self.addEventListener('install', event => {
  event.waitUntil(caches.open(CACHE).then(cache => cache.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', event => {
  event.waitUntil(caches.keys()
    .then(keys => Promise.all(keys.filter(k => k.startsWith(PREFIX) && k !== CACHE).map(k => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', event => {
  const request = event.request;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(fetch(request).catch(async () => {
    const cache = await caches.open(CACHE);
    // A link's query (and fragment) belong to the page, not to its file.
    const hit = await cache.match(request, { ignoreSearch: true });
    if (hit) return hit;
    throw new Error(`offline, and ${request.url} is not in the offline copy`);
  }));
});
