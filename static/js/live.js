/* Live updates for the marketplace and the auction room.
 *
 * Push first: a WebSocket to /ws/live/ subscribed to the page's verticals, with a ping every
 * 20 s. When the socket cannot open or drops, the page polls the state endpoint every 5 s and
 * keeps reconnecting with exponential backoff; it goes back to push when the socket recovers.
 * Countdowns use the server's clock: the page embeds the server time at render, and each poll
 * refreshes the offset between the server's clock and this browser's.
 */
(function () {
  "use strict";

  var root = document.querySelector("[data-live]");
  if (!root) return;

  var PING_MS = 20000;
  var POLL_MS = 5000;
  var OPEN_TIMEOUT_MS = 5000;
  var BACKOFF_MIN_MS = 1000;
  var BACKOFF_MAX_MS = 30000;

  var isRoom = root.hasAttribute("data-room");
  var myRef = root.getAttribute("data-my-ref") || "";
  var stateUrl = root.getAttribute("data-state-url");
  var indicator = document.querySelector("[data-live-indicator]");
  var feed = root.querySelector("[data-live-feed]");

  // Python's isoformat has microseconds; Date.parse is only required to read milliseconds.
  function parseTime(text) {
    return Date.parse(String(text).replace(/(\.\d{3})\d+/, "$1"));
  }

  // serverClock() = Date.now() + skew.
  var skew = 0;
  var renderedAt = parseTime(root.getAttribute("data-server-now"));
  if (!isNaN(renderedAt)) skew = renderedAt - Date.now();
  function serverClock() { return Date.now() + skew; }

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  var verticals = isRoom ? [readJson("live-vertical")] : (readJson("live-verticals") || []);
  verticals = verticals.filter(Boolean);

  function containers(id) {
    return root.querySelectorAll('[data-auction-id="' + String(id) + '"]');
  }
  function watchedIds() {
    var ids = [];
    root.querySelectorAll("[data-auction-id]").forEach(function (el) {
      var id = el.getAttribute("data-auction-id");
      if (ids.indexOf(id) < 0) ids.push(id);
    });
    return ids;
  }

  // Written as the server's `usdc` filter writes it (core/display.py): "1,234.50 USDC".
  function money(text) {
    if (text === null || text === undefined || text === "") return "—";
    var n = Number(text);
    if (isNaN(n)) return String(text);
    return n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 6 }) + " USDC";
  }
  // The server's `when:"s"` (in UTC, the site's time zone): "5 Dec 2026, 19:21:05 UTC".
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  function moment(text) {
    var t = parseTime(text);
    if (isNaN(t)) return String(text);
    var d = new Date(t);
    function two(n) { return String(n).padStart(2, "0"); }
    return d.getUTCDate() + " " + MONTHS[d.getUTCMonth()] + " " + d.getUTCFullYear() + ", " +
      two(d.getUTCHours()) + ":" + two(d.getUTCMinutes()) + ":" + two(d.getUTCSeconds()) + " UTC";
  }
  // Status keys to the words the server writes (auctions.choices.BidderStatus, embedded by the room).
  var statusLabels = readJson("live-status-labels") || {};
  function statusLabel(key) { return statusLabels[key] || key; }

  function setField(box, name, value) {
    box.querySelectorAll('[data-field="' + name + '"]').forEach(function (el) { el.textContent = value; });
  }
  function setMoney(box, name, value) {
    box.querySelectorAll('[data-field="' + name + '"]').forEach(function (el) {
      el.textContent = money(value);
      el.setAttribute("data-value", value === null || value === undefined ? "" : String(value));
    });
  }

  function addFeed(text) {
    if (!feed) return;
    var placeholder = feed.querySelector(".muted");
    if (placeholder) placeholder.remove();
    var li = document.createElement("li");
    var at = new Date(serverClock());
    li.textContent = at.toISOString().slice(11, 19) + " UTC · " + text;
    feed.insertBefore(li, feed.firstChild);
    while (feed.children.length > 50) feed.removeChild(feed.lastChild);
  }

  function flash(box) {
    box.classList.remove("flash");
    void box.offsetWidth;  // restart the animation
    box.classList.add("flash");
  }

  var lastPrice = {};  // auction id -> price text, so polling adds to the feed only on change

  /* Apply what we know about one auction (from a push message or a poll) to the page. */
  function apply(id, change) {
    var boxes = containers(id);
    if (!boxes.length) return;
    var priceChanged = change.price !== undefined && change.price !== null && lastPrice[id] !== change.price;
    boxes.forEach(function (box) {
      if (change.price !== undefined) {
        setMoney(box, "price", change.price);
      }
      // The server decides (auctions.pricing.reserve_met); the push and the poll carry it.
      if (change.reserve_met !== undefined) setField(box, "reserve_met", change.reserve_met ? "met" : "not met");
      if (change.bid_count !== undefined) setField(box, "bid_count", String(change.bid_count));
      if (change.deadline) {
        box.querySelectorAll("[data-countdown]").forEach(function (el) { el.setAttribute("data-deadline", change.deadline); });
        setField(box, "deadline_text", moment(change.deadline));
      }
      if (change.closed) box.classList.add("is-closed");
      if (priceChanged) flash(box);
    });
    // The room's standing sits outside the auction's box.
    if (isRoom && change.my_max !== undefined && change.my_max !== null) setMoney(document, "my_max", change.my_max);
    if (change.my_status) {
      document.querySelectorAll('[data-field="my_status"]').forEach(function (el) {
        if (!isRoom) return;
        el.textContent = statusLabel(change.my_status);
        el.className = "status status-" + change.my_status;
        el.setAttribute("data-value", change.my_status);
      });
    }
    if (isRoom) updateMinimum(change);
    if (priceChanged) {
      if (lastPrice[id] !== undefined || isRoom) addFeed("price " + money(change.price));
      lastPrice[id] = change.price;
    }
    if (change.closed) {
      if (isRoom) {
        // The result (sale, winner, bid log) is rendered by the server.
        window.setTimeout(function () { window.location.reload(); }, 500);
      } else {
        boxes.forEach(function (box) {
          box.querySelectorAll("[data-countdown]").forEach(function (el) {
            el.removeAttribute("data-countdown");
            el.textContent = change.result === "sold" ? "closed · sold" : "closed";
          });
        });
      }
    }
  }

  // Seed the last known prices so the first poll does not report every row as a change.
  root.querySelectorAll("[data-auction-id]").forEach(function (box) {
    var el = box.querySelector('[data-field="price"]');
    var value = el ? el.getAttribute("data-value") : "";
    if (value) lastPrice[box.getAttribute("data-auction-id")] = Number(value).toFixed(6);
  });

  // ---------------------------------------------------------------- the room's minimum-bid hint
  //
  // The server's rule (auctions.selectors.auctions.minimum_bid_for): one increment over the price for
  // whoever does not lead (the broadcast and the poll carry it as minimum_bid), and never at or
  // below the caller's own maximum. Amounts are compared in micro-USDC, as integers.

  var statusEl = document.querySelector('[data-field="my_status"]');
  var myStatus = statusEl ? statusEl.getAttribute("data-value") : null;
  function micro(text) { return Math.round(Number(text) * 1e6); }
  function fromMicro(n) { return (n / 1e6).toFixed(6); }
  function updateMinimum(change) {
    if (change.my_status) myStatus = change.my_status;
    var el = document.querySelector('[data-field="minimum_bid"]');
    if (!el) return;
    var least = change.minimum_bid;
    if (least === undefined || least === null) return;
    var mineEl = document.querySelector('[data-field="my_max"]');
    var mine = mineEl ? mineEl.getAttribute("data-value") : "";
    if (mine) {
      var floor = micro(mine) + 1;
      if (myStatus === "leading" || micro(least) < floor) least = fromMicro(floor);
    }
    el.textContent = money(least);
    el.setAttribute("data-value", least);
  }

  // ---------------------------------------------------------------- countdowns

  function formatLeft(ms) {
    if (ms <= 0) return "closing…";
    var s = Math.floor(ms / 1000);
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    if (h) return h + " h " + String(m).padStart(2, "0") + " min";
    if (m) return m + " min " + String(sec).padStart(2, "0") + " s";
    return sec + " s";
  }
  function tick() {
    var now = serverClock();
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var deadline = parseTime(el.getAttribute("data-deadline"));
      if (!isNaN(deadline)) el.textContent = formatLeft(deadline - now);
    });
  }
  tick();
  window.setInterval(tick, 250);

  // ---------------------------------------------------------------- mode indicator

  function setMode(mode) {
    if (!indicator) return;
    indicator.textContent = mode;
    indicator.classList.toggle("is-live", mode === "live");
    indicator.classList.toggle("is-polling", mode === "polling");
    root.setAttribute("data-live-mode", mode);
  }

  // ---------------------------------------------------------------- polling fallback

  var pollTimer = null;
  var polling = false;

  function normalisePrice(text) { return text === null ? null : Number(text).toFixed(6); }

  function pollOnce() {
    var ids = watchedIds();
    if (!ids.length || !stateUrl) return Promise.resolve();
    var sentAt = Date.now();
    return fetch(stateUrl + "?ids=" + ids.join(","), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (!body) return;
        var server = parseTime(body.now);
        if (!isNaN(server)) skew = server - (sentAt + Date.now()) / 2;
        body.auctions.forEach(function (a) {
          apply(String(a.id), {
            price: normalisePrice(a.price), reserve_met: a.reserve_met, bid_count: a.bid_count, deadline: a.deadline, my_max: a.my_max,
            my_status: a.my_status === "none" ? null : a.my_status, closed: a.status === "closed", result: a.result,
            minimum_bid: a.minimum_bid
          });
        });
      })
      .catch(function () { /* the next poll tries again */ });
  }

  function startPolling() {
    if (polling) return;
    polling = true;
    setMode("polling");
    pollOnce();
    pollTimer = window.setInterval(pollOnce, POLL_MS);
  }
  function stopPolling() {
    polling = false;
    if (pollTimer) window.clearInterval(pollTimer);
    pollTimer = null;
  }

  // ---------------------------------------------------------------- push

  var socket = null;
  var pingTimer = null;
  var openTimer = null;
  var backoff = BACKOFF_MIN_MS;
  var reloadTimer = null;

  function handle(msg) {
    var id = msg.auction_id !== undefined ? String(msg.auction_id) : null;
    switch (msg.type) {
      case "auction.price": {
        var change = { price: normalisePrice(msg.price), reserve_met: msg.reserve_met, bid_count: msg.bid_count, deadline: msg.deadline,
                       minimum_bid: msg.minimum_bid };
        if (isRoom && myRef && document.querySelector('[data-field="my_status"]')) {
          change.my_status = msg.leader === myRef ? "leading" : "outbid";
        }
        apply(id, change);
        // A bid of mine placed elsewhere (an autobid rule, the API, another tab): the push does not
        // carry my maximum, so fetch my standing once (the hint depends on it).
        if (isRoom && myRef && msg.leader === myRef && !polling) pollOnce();
        break;
      }
      case "auction.extended":
        apply(id, { deadline: msg.deadline });
        addFeed("extended: a late bid added time");
        break;
      case "auction.closed":
        apply(id, { price: normalisePrice(msg.price), closed: true, result: msg.result });
        break;
      case "outbid":
        apply(id, { my_status: "outbid" });
        break;
      case "won":
      case "lost":
        apply(id, { my_status: msg.type, closed: true });
        break;
      case "lead.listed":
        // A new auction: the list is ordered server-side, so reload it (only the first page shows it).
        if (!isRoom && root.getAttribute("data-first-page") === "1" && !reloadTimer) {
          reloadTimer = window.setTimeout(function () { window.location.reload(); }, 1000);
        }
        break;
      default:
        break;
    }
  }

  function clearSocketTimers() {
    if (pingTimer) window.clearInterval(pingTimer);
    if (openTimer) window.clearTimeout(openTimer);
    pingTimer = openTimer = null;
  }

  function scheduleReconnect() {
    var wait = backoff;
    backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    window.setTimeout(connect, wait + Math.floor(Math.random() * 250));
  }

  function connect() {
    if (!("WebSocket" in window)) { startPolling(); return; }
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var ws;
    try {
      ws = new WebSocket(scheme + window.location.host + (root.getAttribute("data-ws-path") || "/ws/live/"));
    } catch (e) {
      startPolling();
      scheduleReconnect();
      return;
    }
    socket = ws;
    var opened = false;
    openTimer = window.setTimeout(function () { if (!opened) ws.close(); }, OPEN_TIMEOUT_MS);

    ws.onopen = function () {
      opened = true;
      window.clearTimeout(openTimer);
      backoff = BACKOFF_MIN_MS;
      ws.send(JSON.stringify({ type: "subscribe", verticals: verticals }));
      pingTimer = window.setInterval(function () {
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "ping" }));
      }, PING_MS);
    };
    ws.onmessage = function (event) {
      var msg;
      try { msg = JSON.parse(event.data); } catch (e) { return; }
      if (msg.type === "subscribed") {
        if (msg.unknown && msg.unknown.length) {
          // A vertical the socket does not carry to this user (the seller of a lead in an
          // exclusive vertical, in its own auction's room): its auctions come by polling.
          startPolling();
          return;
        }
        // Push is flowing: stop polling, and catch up once on what changed while we were away.
        var wasPolling = polling;
        stopPolling();
        setMode("live");
        if (wasPolling) pollOnce();
        return;
      }
      // Other scripts of the page (the header's notification badge) hear every message too.
      document.dispatchEvent(new CustomEvent("le:live", { detail: msg }));
      handle(msg);
    };
    ws.onclose = function () {
      clearSocketTimers();
      if (socket === ws) socket = null;
      startPolling();
      scheduleReconnect();
    };
    ws.onerror = function () { /* onclose follows */ };
  }

  connect();
})();
