// Refreshes the import progress section from /seller/imports/<id>/progress.json until the
// import finishes, then reloads once to show the final page (error report link). Without
// JavaScript the page is complete too: a plain refresh shows the current progress.
(function () {
  "use strict";
  var root = document.querySelector("[data-import-progress]");
  if (!root || !window.fetch || root.getAttribute("data-finished") === "true") return;
  var url = root.getAttribute("data-url");
  var bar = root.querySelector("progress");

  function show(data) {
    root.querySelectorAll("[data-progress]").forEach(function (node) {
      var key = node.getAttribute("data-progress");
      if (key in data) node.textContent = data[key];
    });
    if (bar) { bar.value = data.percent; bar.textContent = data.percent + "%"; }
  }

  function poll(delay) {
    window.setTimeout(function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data) return poll(10000);
          show(data);
          if (data.finished) window.location.reload();
          else poll(1500);
        })
        .catch(function () { poll(5000); });
    }, delay);
  }

  poll(1000);
})();
