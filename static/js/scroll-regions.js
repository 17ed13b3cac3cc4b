/* Tables that scroll sideways (a wide table on a phone, site.css) reachable by keyboard.
 *
 * A box that scrolls but holds nothing focusable cannot be scrolled without a mouse or a finger
 * (WCAG 2.1.1). Each such table, or the .table-scroll box around it, becomes a tab stop named after
 * its caption or the heading above it, only while it scrolls: on a laptop nothing changes. Boxes a
 * template already made focusable (tabindex in the markup) are left as they are.
 */
(function () {
  "use strict";

  var FOCUSABLE = "a[href], button, input, select, textarea, summary, [tabindex]";

  function nameOf(box) {
    var table = box.tagName === "TABLE" ? box : box.querySelector("table");
    var caption = table && table.caption;
    if (caption && caption.textContent.trim()) return caption.textContent.trim();
    for (var el = box; el && el !== document.body; el = el.parentElement) {
      for (var prev = el.previousElementSibling; prev; prev = prev.previousElementSibling) {
        if (/^H[1-6]$/.test(prev.tagName)) return prev.textContent.trim();
        var inner = prev.querySelectorAll("h1, h2, h3, h4, h5, h6");
        if (inner.length) return inner[inner.length - 1].textContent.trim();
      }
    }
    return "Table";
  }

  function mark() {
    document.querySelectorAll(".table:not(.stack), .table-scroll").forEach(function (box) {
      var ours = box.hasAttribute("data-scroll-region");
      if (!ours && box.hasAttribute("tabindex")) return;
      var scrolls = box.scrollWidth > box.clientWidth + 1 && getComputedStyle(box).overflowX !== "visible";
      var reachable = box.querySelector(FOCUSABLE) !== null;
      if (scrolls && !reachable && !ours) {
        box.setAttribute("data-scroll-region", "");
        box.setAttribute("tabindex", "0");
        if (box.tagName !== "TABLE") box.setAttribute("role", "region");
        if (!box.hasAttribute("aria-label")) {
          box.setAttribute("aria-label", nameOf(box) + " (scrolls sideways)");
          box.setAttribute("data-scroll-region", "labelled");
        }
      } else if (ours && !scrolls) {
        if (box.getAttribute("data-scroll-region") === "labelled") box.removeAttribute("aria-label");
        if (box.tagName !== "TABLE") box.removeAttribute("role");
        box.removeAttribute("tabindex");
        box.removeAttribute("data-scroll-region");
      }
    });
  }

  var pending = null;
  function later() {
    if (pending) clearTimeout(pending);
    pending = setTimeout(mark, 150);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mark);
  else mark();
  window.addEventListener("resize", later);
})();
