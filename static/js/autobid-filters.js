// The autobid form's field filter rows: add a row, remove one, and offer only the chosen
// vertical's fields. Without this script the form still works: it has a few empty rows, a
// "Remove" checkbox per row, and every vertical's fields grouped by vertical.
(function () {
  "use strict";
  var form = document.querySelector("[data-testid=autobid-form]");
  if (!form) return;
  var rows = form.querySelector("[data-filter-rows]");
  var template = form.querySelector("template[data-filter-template]");
  var total = form.querySelector("input[name=filters-TOTAL_FORMS]");
  var maxRows = parseInt(form.querySelector("input[name=filters-MAX_NUM_FORMS]").value, 10);
  var addButton = form.querySelector("[data-add-filter]");
  var vertical = form.querySelector("select[name=vertical]");
  var fieldsByVertical = JSON.parse(document.getElementById("autobid-filter-fields").textContent);

  function fieldOptions(select) {
    var chosen = vertical && fieldsByVertical[vertical.value];
    if (!chosen) return;  // all verticals: keep the grouped list the server sent
    var current = select.value;
    select.textContent = "";
    select.add(new Option("Choose a field…", ""));
    chosen.forEach(function (pair) { select.add(new Option(pair[1], pair[0], false, pair[0] === current)); });
  }

  function enhance(row) {
    var remove = row.querySelector("input[type=checkbox][name$=-DELETE]");
    if (remove && !row.querySelector("[data-remove-filter]")) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = "Remove";
      button.setAttribute("data-remove-filter", "");
      button.addEventListener("click", function () { remove.checked = true; row.hidden = true; });
      remove.closest("label").hidden = true;
      remove.closest("td").appendChild(button);
    }
    var select = row.querySelector("select[name$=-field]");
    if (select) fieldOptions(select);
  }

  rows.querySelectorAll("[data-filter-row]").forEach(enhance);
  addButton.hidden = false;
  addButton.addEventListener("click", function () {
    var index = parseInt(total.value, 10);
    if (index >= maxRows) return;
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    var body = document.createElement("tbody");
    body.innerHTML = html;
    var row = body.firstElementChild;
    rows.appendChild(row);
    total.value = String(index + 1);
    enhance(row);
    row.querySelector("select").focus();
  });
  if (vertical) {
    vertical.addEventListener("change", function () {
      rows.querySelectorAll("select[name$=-field]").forEach(function (select) {
        if (fieldsByVertical[vertical.value]) fieldOptions(select);
      });
    });
  }
})();
