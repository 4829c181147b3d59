// Movement Pass police app (/verify): checks passes on the device, online or not.
//
// A port of the Rust verifier (mpass-domain/src/pass/verify.rs) with the same rules and
// reason codes: size caps before decoding, strict Base45 (RFC 9285) and strict
// deterministic CBOR (shortest heads, definite lengths, sorted unique map keys, no floats,
// depth and size caps), COSE_Sign1 with protected header {1: -8, 4: kid}, every trusted key
// with the kid tried with WebCrypto Ed25519, nbf/exp with 5 minutes of clock tolerance,
// the cached revocation list and its age, and the checkpoint's district against the route.
// The trust list, revocations and area names are kept in localStorage with the time they
// were fetched; scans the server did not see are queued there and uploaded later.
(function () {
  "use strict";
  var root = document.getElementById("mp-verify");
  if (!root) return;
  var cfg = JSON.parse(root.getAttribute("data-config"));
  var T = cfg.t;
  var LANG = cfg.lang === "bn" ? "bn" : "en";

  var PREFIX = "MP1:";
  var MAX_CBOR = 1024;
  var MAX_TEXT = PREFIX.length + MAX_CBOR / 2 * 3;
  var MAX_DEPTH = 8;
  var CLOCK_TOLERANCE = 300;
  var MAX_REVOCATION_AGE = 24 * 3600;
  var MAX_TIME = 4294967295;
  var CLAIM_PASS = -65537;
  var KEY = { trust: "mp.verify.trust", revoked: "mp.verify.revoked", areas: "mp.verify.areas", queue: "mp.verify.queue" };
  var COLOURS = ["green", "amber", "red"];

  function Bad(reason) { this.reason = reason; }
  function fail(reason) { throw new Bad(reason || "malformed"); }

  // ---- Base45 (RFC 9285), strict
  var B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  function b45decode(s) {
    if (s.length % 3 === 1) fail();
    var out = [];
    function v(c) { var i = B45.indexOf(c); if (i < 0) fail(); return i; }
    for (var i = 0; i < s.length; i += 3) {
      if (i + 2 < s.length) {
        var n = v(s[i]) + v(s[i + 1]) * 45 + v(s[i + 2]) * 2025;
        if (n > 0xffff) fail();
        out.push(n >> 8, n & 0xff);
      } else {
        var m = v(s[i]) + v(s[i + 1]) * 45;
        if (m > 0xff) fail();
        out.push(m);
      }
    }
    return new Uint8Array(out);
  }

  // ---- CBOR, strict: accepts only what the issuer's deterministic encoder produces
  var utf8 = new TextDecoder("utf-8", { fatal: true });
  function cborDecode(bytes) {
    if (bytes.length > MAX_CBOR) fail("too_large");
    var pos = 0;
    function byte() { if (pos >= bytes.length) fail(); return bytes[pos++]; }
    function head() {
      var initial = byte(), major = initial >> 5, info = initial & 31, arg, min, i;
      if (major === 7) fail();
      if (info < 24) return [major, info];
      if (info === 24) { arg = byte(); min = 24; }
      else if (info === 25) { arg = byte() * 256 + byte(); min = 0x100; }
      else if (info === 26) { arg = 0; for (i = 0; i < 4; i++) arg = arg * 256 + byte(); min = 0x10000; }
      else if (info === 27) {
        arg = BigInt(0);
        for (i = 0; i < 8; i++) arg = arg * BigInt(256) + BigInt(byte());
        if (arg < BigInt(0x100000000)) fail();
        return [major, arg <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(arg) : arg];
      } else fail();
      if (arg < min) fail();
      return [major, arg];
    }
    function length(arg, per) {
      if (typeof arg !== "number" || arg * per > bytes.length - pos) fail();
      return arg;
    }
    function compare(a, b) {
      for (var i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
      return a.length - b.length;
    }
    function item(depth) {
      if (depth >= MAX_DEPTH) fail();
      var h = head(), major = h[0], arg = h[1], n, i, out;
      switch (major) {
        case 0: return { t: "u", v: arg };
        case 1: return { t: "n", v: arg };
        case 2: n = length(arg, 1); out = bytes.slice(pos, pos + n); pos += n; return { t: "b", v: out };
        case 3:
          n = length(arg, 1);
          try { out = utf8.decode(bytes.subarray(pos, pos + n)); } catch (e) { fail(); }
          pos += n;
          return { t: "s", v: out };
        case 4:
          n = length(arg, 1); out = [];
          for (i = 0; i < n; i++) out.push(item(depth + 1));
          return { t: "a", v: out };
        case 5:
          n = length(arg, 2); out = [];
          var prev = null;
          for (i = 0; i < n; i++) {
            var start = pos, key = item(depth + 1), raw = bytes.subarray(start, pos);
            if (prev && compare(prev, raw) >= 0) fail();
            prev = raw;
            out.push([key, item(depth + 1)]);
          }
          return { t: "m", v: out };
        case 6: return { t: "tag", tag: arg, v: item(depth + 1) };
      }
      fail();
    }
    var value = item(0);
    if (pos !== bytes.length) fail();
    return value;
  }
  function int(v) {
    if (!v || typeof v.v !== "number") return null;
    if (v.t === "u") return v.v;
    if (v.t === "n") return -1 - v.v;
    return null;
  }
  function uint(v) { return v && v.t === "u" ? v.v : null; }

  // ---- COSE_Sign1 and its Sig_structure
  function parseSign1(cose) {
    var top = cborDecode(cose);
    if (top.t !== "tag" || top.tag !== 18 || top.v.t !== "a" || top.v.v.length !== 4) fail();
    var p = top.v.v;
    if (p[0].t !== "b" || p[1].t !== "m" || p[1].v.length !== 0 || p[2].t !== "b" || p[3].t !== "b") fail();
    if (p[3].v.length !== 64) fail();
    var header = cborDecode(p[0].v);
    if (header.t !== "m" || header.v.length !== 2) fail();
    var alg = header.v[0], kid = header.v[1];
    if (int(alg[0]) !== 1 || int(alg[1]) !== -8 || int(kid[0]) !== 4 || kid[1].t !== "b" || kid[1].v.length !== 8) fail();
    return { protected: p[0].v, kid: kid[1].v, payload: p[2].v, signature: p[3].v };
  }
  function cborHead(major, n) {
    if (n < 24) return [(major << 5) | n];
    if (n < 0x100) return [(major << 5) | 24, n];
    return [(major << 5) | 25, n >> 8, n & 0xff];
  }
  function sigStructure(prot, payload) {
    var out = [0x84].concat(cborHead(3, 10));
    "Signature1".split("").forEach(function (c) { out.push(c.charCodeAt(0)); });
    out = out.concat(cborHead(2, prot.length), Array.from(prot), [0x40], cborHead(2, payload.length), Array.from(payload));
    return new Uint8Array(out);
  }

  // ---- Claims (SPEC §7), with the issuer's limits
  function text(v, max) {
    if (!v || v.t !== "s" || v.v.trim() === "" || new TextEncoder().encode(v.v).length > max) fail();
    if (/[\u0000-\u001f\u007f-\u009f]/.test(v.v)) fail();
    return v.v;
  }
  function fields(map, allowed) {
    if (!map || map.t !== "m") fail();
    var out = {};
    map.v.forEach(function (e) {
      var k = int(e[0]);
      if (k === null || allowed.indexOf(k) < 0) fail();
      out[k] = e[1];
    });
    return out;
  }
  function uuidOf(b) {
    var h = Array.from(b, function (x) { return (x < 16 ? "0" : "") + x.toString(16); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function claimsOf(payload) {
    var top = fields(cborDecode(payload), [1, 4, 5, 6, 7, CLAIM_PASS]);
    var p = fields(top[CLAIM_PASS], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    var c = {
      issuer: text(top[1], 16),
      expires: int(top[4]), not_before: int(top[5]), issued_at: int(top[6]),
      holder_name: text(p[1], 48), document_last4: text(p[2], 4), birth_year: uint(p[3]),
      reason: text(p[4], 20), from_area: uint(p[5]), to_area: uint(p[6]), round_trip: uint(p[7]),
      vehicle: p[8] === undefined ? null : text(p[8], 16), companions: uint(p[9])
    };
    if (!top[7] || top[7].t !== "b" || top[7].v.length !== 16) fail();
    c.pass_id = uuidOf(top[7].v);
    [c.expires, c.not_before, c.issued_at].forEach(function (t) { if (t === null || t < 0 || t > MAX_TIME) fail(); });
    if (c.not_before >= c.expires || c.issued_at > c.expires) fail();
    if (!/^[A-Za-z0-9]{1,4}$/.test(c.document_last4) || !/^[a-z0-9_]{1,20}$/.test(c.reason)) fail();
    if (c.birth_year === null || c.birth_year > 65535 || c.from_area === null || c.to_area === null) fail();
    if (c.round_trip !== 0 && c.round_trip !== 1) fail();
    if (c.companions === null || c.companions > 255) fail();
    c.round_trip = c.round_trip === 1;
    return c;
  }

  // ---- Trust list (JWK Set), strict
  function b64url(s) {
    if (typeof s !== "string" || !/^[A-Za-z0-9_-]*$/.test(s)) throw new Error("not base64url");
    var bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
    return Uint8Array.from(bin, function (c) { return c.charCodeAt(0); });
  }
  function same(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  var trustCache = { text: null, keys: null };
  function trustedKeys(jsonText) {
    if (trustCache.text === jsonText) return Promise.resolve(trustCache.keys);
    var doc = JSON.parse(jsonText);
    if (!doc || !Array.isArray(doc.keys) || doc.keys.length > 128) throw new Error("bad trust list");
    return Promise.all(doc.keys.map(function (k) {
      var x = b64url(k.x), kid = b64url(k.kid);
      if (k.kty !== "OKP" || k.crv !== "Ed25519" || x.length !== 32 || kid.length !== 8) throw new Error("bad key");
      if (["active", "retired", "compromised"].indexOf(k.status) < 0 || typeof k.nbf !== "number") throw new Error("bad key");
      return crypto.subtle.digest("SHA-256", x).then(function (d) {
        if (!same(new Uint8Array(d).slice(0, 8), kid)) throw new Error("kid does not match x");
        return crypto.subtle.importKey("raw", x, { name: "Ed25519" }, false, ["verify"]);
      }).then(function (key) {
        return { kid: kid, key: key, nbf: k.nbf, exp: typeof k.exp === "number" ? k.exp : null, compromised: k.status === "compromised" };
      });
    })).then(function (keys) {
      trustCache = { text: jsonText, keys: keys };
      return keys;
    });
  }

  // ---- The check itself: the same order and reasons as verify_pass
  function district(area) { return String(area).slice(0, 4); }
  function onRoute(checkpoint, end) {
    var a = district(checkpoint), b = district(end);
    return a.indexOf(b) === 0 || b.indexOf(a) === 0;
  }
  function verdict(reasons, claims, kid) {
    var worst = 0;
    reasons.forEach(function (r) { worst = Math.max(worst, COLOURS.indexOf(cfg.reasons[r].colour)); });
    return { result: COLOURS[worst], reasons: reasons, claims: claims || null, kid: kid || null };
  }
  function verifyPass(qrText, opts) {
    var parsed;
    try {
      var t = qrText.replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, "");
      if (t.length > MAX_TEXT) fail("too_large");
      if (t.indexOf(PREFIX) !== 0) fail();
      var sign1 = parseSign1(b45decode(t.slice(PREFIX.length)));
      parsed = { sign1: sign1, claims: claimsOf(sign1.payload) };
    } catch (e) {
      if (e instanceof Bad) return Promise.resolve(verdict([e.reason]));
      return Promise.resolve(verdict(["malformed"]));
    }
    var s = parsed.sign1, c = parsed.claims;
    return trustedKeys(opts.trust).then(function (keys) {
      var candidates = keys.filter(function (k) { return same(k.kid, s.kid); });
      if (!candidates.length) return verdict(["unknown_key"], null, s.kid);
      var message = sigStructure(s.protected, s.payload);
      return Promise.all(candidates.map(function (k) {
        return crypto.subtle.verify({ name: "Ed25519" }, k.key, s.signature, message).catch(function () { return false; });
      })).then(function (ok) {
        var signers = candidates.filter(function (_, i) { return ok[i]; });
        if (!signers.length) return verdict(["bad_signature"], null, s.kid);
        if (signers.some(function (k) { return k.compromised; })) return verdict(["key_compromised"], null, s.kid);
        var reasons = [];
        var maySign = signers.some(function (k) { return c.issued_at >= k.nbf && (k.exp === null || c.expires <= k.exp); });
        if (!maySign) reasons.push("key_not_valid_for_pass");
        if (opts.now + CLOCK_TOLERANCE < c.not_before) reasons.push("not_yet_valid");
        if (opts.now - CLOCK_TOLERANCE >= c.expires) reasons.push("expired");
        if (opts.revoked.has(c.pass_id)) reasons.push("revoked");
        if (opts.revocationAge === null) reasons.push("revocation_list_missing");
        else if (opts.revocationAge > MAX_REVOCATION_AGE) reasons.push("revocation_list_stale");
        if (opts.area && !onRoute(opts.area, c.from_area) && !onRoute(opts.area, c.to_area)) reasons.push("checkpoint_off_route");
        if (!reasons.length) reasons.push("valid");
        return verdict(reasons, c, s.kid);
      });
    });
  }

  // ---- Local state
  function load(key) { try { return JSON.parse(localStorage.getItem(key)); } catch (e) { return null; } }
  function save(key, value) { try { localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* full: keep going */ } }
  function nowSecs() { return Math.floor(Date.now() / 1000); }
  function queue() { return load(KEY.queue) || []; }
  function newId() {
    if (crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    return uuidOf(b);
  }

  function api(path, body) {
    var ctrl = new AbortController();
    var timer = setTimeout(function () { ctrl.abort(); }, 4000);
    var init = body === undefined ? { credentials: "same-origin", signal: ctrl.signal } : {
      method: "POST", credentials: "same-origin", signal: ctrl.signal,
      headers: { "content-type": "application/json", "x-csrf-token": cfg.csrf },
      body: JSON.stringify(body)
    };
    return fetch(path, init).finally(function () { clearTimeout(timer); });
  }

  function syncLists() {
    var jobs = [];
    jobs.push(api("/api/v1/trust-list").then(function (r) {
      // The service worker's cached copy when offline: usable, but not fresh.
      if (!r.ok || r.headers.get("x-mp-offline")) throw new Error("trust list not fetched");
      return r.text();
    }).then(function (t) {
      return trustedKeys(t).then(function () { save(KEY.trust, { text: t, fetched: Date.now() }); });
    }));
    var rev = load(KEY.revoked) || { seq: 0, ids: [], synced: null };
    jobs.push(api("/api/v1/revocations?since=" + rev.seq).then(function (r) {
      if (!r.ok) throw new Error("revocations " + r.status);
      return r.json();
    }).then(function (doc) {
      var ids = new Set(rev.ids);
      doc.revoked.forEach(function (x) { ids.add(x.pass_id); });
      save(KEY.revoked, { seq: doc.seq, ids: Array.from(ids), synced: Date.now() });
    }));
    if (!load(KEY.areas)) {
      jobs.push(api("/api/v1/areas").then(function (r) {
        if (!r.ok) throw new Error("areas " + r.status);
        return r.json();
      }).then(function (list) {
        var names = {};
        list.forEach(function (a) { if (a.kind !== "division") names[a.code] = [a.name_en, a.name_bn]; });
        save(KEY.areas, names);
      }));
    }
    return Promise.allSettled(jobs).then(showSync);
  }

  function flushQueue() {
    var q = queue();
    if (!q.length) return Promise.resolve();
    var batch = q.slice(0, 50);
    return api("/verify/scans", { scans: batch }).then(function (r) {
      if (!r.ok) throw new Error("upload " + r.status);
      return r.json();
    }).then(function (doc) {
      // Logged or refused for good: either way the server has answered for it.
      var done = new Set(doc.results.map(function (x) { return x.client_id; }));
      save(KEY.queue, queue().filter(function (s) { return !done.has(s.client_id); }));
    }).catch(function () { /* still offline: try again later */ }).then(showSync);
  }

  // ---- Showing things
  function $(id) { return document.getElementById(id); }
  function el(tag, textContent, cls) {
    var e = document.createElement(tag);
    if (textContent !== undefined) e.textContent = textContent;
    if (cls) e.className = cls;
    return e;
  }
  function minutesAgo(ms) { return ms ? Math.max(0, Math.round((Date.now() - ms) / 60000)) : null; }
  function num(n) { return LANG === "bn" ? Number(n).toLocaleString("bn-BD", { useGrouping: false }) : String(n); }
  function reasonLabel(code) { return (cfg.categories || {})[code] || code; }
  function showSync() {
    var trust = load(KEY.trust), rev = load(KEY.revoked);
    var line = function (label, ms) {
      var m = minutesAgo(ms);
      return label + ": " + (m === null ? T.never : T.updated + " " + num(m) + " " + T.ago_min);
    };
    $("v-sync").textContent = line(T.trust, trust && trust.fetched) + " · " + line(T.revocations, rev && rev.synced);
    var n = queue().length;
    $("v-queue").textContent = n ? num(n) + " " + T.queued : "";
    $("v-queue").setAttribute("data-count", String(n));
  }
  function areaName(code) {
    var names = load(KEY.areas) || {};
    var n = names[String(code)];
    return n ? (LANG === "bn" ? n[1] : n[0]) : String(code);
  }
  function fmtTime(v) {
    var d = typeof v === "number" ? new Date(v * 1000) : new Date(v);
    return d.toLocaleString(LANG === "bn" ? "bn-BD" : "en-GB", { timeZone: "Asia/Dhaka", dateStyle: "medium", timeStyle: "short" });
  }
  function show(result, reasonCodes, holder, source, status) {
    var box = $("v-result");
    box.hidden = false;
    box.className = "verdict " + result;
    box.setAttribute("data-result", result);
    $("v-colour").textContent = T[result];
    var list = $("v-reasons");
    list.textContent = "";
    reasonCodes.forEach(function (code) {
      var r = cfg.reasons[code];
      var li = el("li", r ? r[LANG] : code);
      li.setAttribute("data-code", code);
      list.appendChild(li);
    });
    var dl = $("v-holder");
    dl.textContent = "";
    if (holder) {
      [
        [T.holder, holder.name], [T.document, "…" + holder.last4], [T.born, num(holder.born)],
        [T.route, holder.from + " → " + holder.to], [T.window, fmtTime(holder.from_time) + " – " + fmtTime(holder.until)],
        [T.vehicle, holder.vehicle || T.none], [T.companions, num(holder.companions)], [T.reason, reasonLabel(holder.reason)]
      ].concat(status ? [[T.status, T["st_" + status] || status]] : []).forEach(function (row) {
        dl.appendChild(el("dt", row[0]));
        dl.appendChild(el("dd", row[1]));
      });
    }
    $("v-source").textContent = source;
    $("v-source").setAttribute("data-source", source === T.server ? "server" : "device");
  }
  function holderFromClaims(c) {
    return {
      name: c.holder_name, last4: c.document_last4, born: c.birth_year, from: areaName(c.from_area), to: areaName(c.to_area),
      from_time: c.not_before, until: c.expires, vehicle: c.vehicle, companions: c.companions, reason: c.reason
    };
  }
  function holderFromServer(p) {
    var name = function (a) { return (LANG === "bn" ? a.name_bn : a.name_en) || a.area; };
    return {
      name: p.holder_name, last4: p.document_last4, born: p.birth_year, from: name(p.from), to: name(p.to),
      from_time: p.valid_from, until: p.valid_until, vehicle: p.vehicle, companions: p.companions, reason: p.reason
    };
  }

  // ---- One scan
  function checkpoint() {
    var id = $("v-checkpoint").value;
    return cfg.checkpoints.filter(function (c) { return c.id === id; })[0] || null;
  }
  function check(input) {
    var value = input.trim();
    if (!value) return Promise.resolve();
    var cp = checkpoint();
    var scan = { client_id: newId(), scanned_at: new Date().toISOString() };
    if (cp) scan.checkpoint_id = cp.id;
    var isCode = value.indexOf(PREFIX) !== 0 && value.replace(/[-\s]/g, "").length === 8;
    if (isCode) {
      scan.short_code = value;
      return online(scan).catch(function () {
        show("amber", [], null, T.needs_network);
      });
    }
    scan.qr_text = value;
    var trust = load(KEY.trust), rev = load(KEY.revoked);
    var opts = {
      trust: trust ? trust.text : '{"keys":[]}',
      now: nowSecs(),
      revoked: new Set(rev ? rev.ids : []),
      revocationAge: rev && rev.synced ? Math.floor((Date.now() - rev.synced) / 1000) : null,
      area: cp ? cp.area : null
    };
    return verifyPass(value, opts).then(function (v) {
      show(v.result, v.reasons, v.claims ? holderFromClaims(v.claims) : null, T.pending);
      scan.result = v.result;
      return online(scan).catch(function () {
        var q = queue();
        q.push(scan);
        save(KEY.queue, q);
        show(v.result, v.reasons, v.claims ? holderFromClaims(v.claims) : null, T.device);
        showSync();
      });
    });
  }
  function online(scan) {
    var body = { scanned_at: scan.scanned_at };
    if (scan.qr_text) body.qr_text = scan.qr_text; else body.short_code = scan.short_code;
    if (scan.checkpoint_id) body.checkpoint_id = scan.checkpoint_id;
    return api("/verify/check", body).then(function (r) {
      if (r.status >= 500 || r.status === 401 || r.status === 403 || r.status === 429) throw new Error("server " + r.status);
      return r.json().then(function (doc) {
        if (!r.ok) {
          show("red", [], null, doc.detail || String(r.status));
          return;
        }
        show(doc.result, doc.reasons.map(function (x) { return x.code; }), doc.pass ? holderFromServer(doc.pass) : null, T.server, doc.status);
        flushQueue();
      });
    });
  }

  // ---- Camera, where the browser can read QR codes itself
  function camera() {
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices) return;
    $("v-camera-box").hidden = false;
    $("v-camera").addEventListener("click", function () {
      var video = $("v-video");
      var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
        video.srcObject = stream;
        video.hidden = false;
        return video.play().then(function () {
          var stop = function () { stream.getTracks().forEach(function (t) { t.stop(); }); video.hidden = true; };
          var tick = function () {
            detector.detect(video).then(function (codes) {
              if (codes.length) {
                stop();
                $("v-input").value = codes[0].rawValue;
                check(codes[0].rawValue);
              } else {
                requestAnimationFrame(tick);
              }
            }).catch(stop);
          };
          tick();
        });
      }).catch(function () { $("v-camera-box").hidden = true; });
    });
  }

  $("v-form").addEventListener("submit", function (e) {
    e.preventDefault();
    root.setAttribute("data-busy", "1");
    check($("v-input").value).finally(function () {
      // app.js disables submit buttons against double posts; this form never leaves the page.
      setTimeout(function () { $("v-check").disabled = false; root.removeAttribute("data-busy"); }, 0);
    });
  });
  camera();
  showSync();
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(cfg.sw, { scope: "/verify" }).catch(function () { /* works online without it */ });
  }
  function refresh() {
    return syncLists().then(flushQueue).finally(function () { root.setAttribute("data-synced", String(Date.now())); });
  }
  window.addEventListener("online", refresh);
  setInterval(refresh, 5000);
  refresh();
})();
