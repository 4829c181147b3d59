// Movement Pass police app: the service worker that lets /verify work without a network.
// Network first, so an officer online always gets the current page, keys and texts; the
// cached copy answers only when the network does not. Generated per release: the asset
// names below are filled in by the server, and a new release replaces the cache.
"use strict";
var CACHE = "mp-verify-{{VERSION}}";
var SHELL = ["/verify", "{{CSS}}", "{{APP_JS}}", "{{VERIFY_JS}}", "/api/v1/trust-list", "/api/v1/areas"];

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) { return cache.addAll(SHELL); }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) { return k.indexOf("mp-verify-") === 0 && k !== CACHE; })
        .map(function (k) { return caches.delete(k); }));
    }).then(function () { return self.clients.claim(); })
  );
});

self.addEventListener("fetch", function (event) {
  var req = event.request;
  var url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin || SHELL.indexOf(url.pathname) < 0) {
    return; // everything else (the page's JSON calls, revocations) goes to the network as usual
  }
  event.respondWith(
    fetch(req).then(function (res) {
      // Never keep a redirect's target (the login page after a logout) as the app.
      if (res.ok && !res.redirected) {
        var copy = res.clone();
        caches.open(CACHE).then(function (cache) { return cache.put(url.pathname, copy); });
      }
      return res;
    }).catch(function () {
      return caches.open(CACHE).then(function (cache) { return cache.match(url.pathname); }).then(function (hit) {
        if (!hit) return Response.error();
        // Marked, so the page does not take a cached list for a fresh one.
        var headers = new Headers(hit.headers);
        headers.set("x-mp-offline", "1");
        return new Response(hit.body, { status: hit.status, statusText: hit.statusText, headers: headers });
      });
    })
  );
});
