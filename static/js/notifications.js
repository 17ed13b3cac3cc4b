/* The header's unread-notifications badge, kept live.
 *
 * A "notification.new" message on the user's socket adds one to the badge. Pages with live.js
 * (the marketplace, the auction room) already hold a socket: live.js re-dispatches each message
 * as a "le:live" DOM event and this script listens. Other pages get a socket of their own here,
 * with no vertical subscriptions (only the private user group), reconnecting with backoff.
 */
(function () {
  "use strict";

  var badge = document.querySelector("[data-unread-count]");
  if (!badge) return;

  function bump() {
    var n = parseInt(badge.textContent, 10);
    badge.textContent = String((isNaN(n) ? 0 : n) + 1);
    badge.hidden = false;
  }
  function onMessage(msg) {
    if (msg && msg.type === "notification.new") bump();
  }

  document.addEventListener("le:live", function (event) { onMessage(event.detail); });
  if (document.querySelector("[data-live]") || !("WebSocket" in window)) return;

  var PING_MS = 20000;
  var BACKOFF_MAX_MS = 60000;
  var backoff = 1000;

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var ws, pingTimer = null;
    try {
      ws = new WebSocket(scheme + window.location.host + "/ws/live/");
    } catch (e) {
      retry();
      return;
    }
    ws.onopen = function () {
      backoff = 1000;
      pingTimer = window.setInterval(function () {
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "ping" }));
      }, PING_MS);
    };
    ws.onmessage = function (event) {
      try { onMessage(JSON.parse(event.data)); } catch (e) { /* not JSON: ignore */ }
    };
    ws.onclose = function () {
      if (pingTimer) window.clearInterval(pingTimer);
      retry();
    };
  }
  function retry() {
    var wait = backoff;
    backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    window.setTimeout(connect, wait + Math.floor(Math.random() * 500));
  }

  connect();
})();
