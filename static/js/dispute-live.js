/* A dispute's page, live: the page listens on the user's socket (/ws/live/, where the server
 * sends {"type": "dispute.opened|answered|decided|closed", "dispute_id", "message"} to each
 * party), and when a message is about this dispute it shows the message as a toast and swaps in
 * the server-rendered state block (state, deadline, offer, outcome and the forms that go with
 * them) from the page's state URL. Without JavaScript or a socket, a reload shows the same. */
(function () {
  "use strict";
  var root = document.querySelector("[data-dispute-live]");
  if (!root || !("WebSocket" in window) || !window.fetch) return;
  var disputeId = String(root.getAttribute("data-dispute-id"));
  var toast = document.querySelector("[data-dispute-toast]");
  var backoff = 1000;
  var toastTimer = null;

  function showToast(text) {
    if (!toast || !text) return;
    toast.textContent = text;
    toast.hidden = false;
    if (toastTimer) window.clearTimeout(toastTimer);
    toastTimer = window.setTimeout(function () { toast.hidden = true; }, 15000);
  }

  function refresh() {
    var block = document.querySelector("[data-dispute-state]");
    if (!block) return;
    fetch(block.getAttribute("data-url"), { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.querySelector("[data-dispute-state]");
        var current = document.querySelector("[data-dispute-state]");
        if (fresh && current) current.replaceWith(fresh);
      })
      .catch(function () { /* the next message or a reload shows it */ });
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var ws;
    try { ws = new WebSocket(scheme + window.location.host + "/ws/live/"); } catch (e) { return; }
    var ping = null;
    ws.onopen = function () {
      backoff = 1000;
      root.setAttribute("data-live-mode", "live");
      ping = window.setInterval(function () {
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "ping" }));
      }, 20000);
    };
    ws.onmessage = function (event) {
      var msg;
      try { msg = JSON.parse(event.data); } catch (e) { return; }
      if (!msg || typeof msg.type !== "string" || msg.type.indexOf("dispute.") !== 0) return;
      if (String(msg.dispute_id) !== disputeId) return;
      showToast(msg.message);
      refresh();
    };
    ws.onclose = function () {
      if (ping) window.clearInterval(ping);
      root.setAttribute("data-live-mode", "offline");
      window.setTimeout(connect, backoff + Math.floor(Math.random() * 250));
      backoff = Math.min(backoff * 2, 30000);
    };
  }
  connect();
})();
