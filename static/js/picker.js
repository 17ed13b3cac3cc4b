/* A searchable checkbox picker: progressive enhancement of a <details data-picker> holding
 * <label data-picker-option><input type="checkbox"> Name</label> rows.
 *
 * Without JavaScript the disclosure and its checkboxes work as they are. With it, a search box
 * appears that hides the options whose name does not contain what was typed (checked ones stay
 * visible), the number of matches is announced, Enter in the box does not submit the form, and
 * the summary lists what is ticked.
 */
(function () {
  "use strict";

  function norm(text) {
    return String(text).toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "").trim();
  }

  document.querySelectorAll("[data-picker]").forEach(function (picker) {
    var box = picker.querySelector("[data-picker-search-box]");
    var input = picker.querySelector("[data-picker-search]");
    var count = picker.querySelector("[data-picker-count]");
    var summary = picker.querySelector("[data-picker-summary]");
    var options = Array.prototype.slice.call(picker.querySelectorAll("[data-picker-option]"));
    if (!input || !options.length) return;
    if (box) box.hidden = false;

    function filter() {
      var query = norm(input.value);
      var shown = 0;
      options.forEach(function (option) {
        var checkbox = option.querySelector("input");
        var match = !query || norm(option.textContent).indexOf(query) >= 0 || (checkbox && checkbox.checked);
        option.hidden = !match;
        if (match) shown += 1;
      });
      if (count) count.textContent = query ? (shown === 1 ? "1 match" : shown + " matches") : "";
    }

    function summarise() {
      if (!summary) return;
      var names = options.filter(function (option) {
        var checkbox = option.querySelector("input");
        return checkbox && checkbox.checked;
      }).map(function (option) { return option.textContent.trim(); });
      summary.textContent = names.length ? names.join(", ") : "all";
    }

    input.addEventListener("input", filter);
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") event.preventDefault();
      if (event.key === "Escape" && input.value) { input.value = ""; filter(); }
    });
    picker.addEventListener("change", summarise);
    picker.addEventListener("toggle", function () { if (picker.open) input.focus(); });
  });
})();
