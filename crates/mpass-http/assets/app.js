// Movement Pass: small enhancements; every page also works without this file.
(function () {
  "use strict";
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  // Thana chosen within the district: the thana list shows only the chosen district's thanas.
  $all("select[data-thanas]").forEach(function (district) {
    var thana = document.getElementById(district.getAttribute("data-thanas"));
    if (!thana) return;
    var groups = $all("optgroup", thana).map(function (g) { return g.cloneNode(true); });
    var placeholder = thana.querySelector("option[value='']");
    placeholder = placeholder ? placeholder.cloneNode(true) : null;
    function groupOf(code) {
      var found = null;
      groups.forEach(function (g) { if (g.querySelector("option[value='" + code + "']")) found = g; });
      return found;
    }
    var current = groupOf(thana.value);
    if (current && !district.value) district.value = current.getAttribute("data-district");
    function filter() {
      var keep = thana.value;
      thana.innerHTML = "";
      if (placeholder) thana.appendChild(placeholder.cloneNode(true));
      groups.forEach(function (g) {
        if (g.getAttribute("data-district") !== district.value) return;
        $all("option", g).forEach(function (o) { thana.appendChild(o.cloneNode(true)); });
      });
      thana.value = keep;
      if (thana.value !== keep) thana.value = "";
      thana.disabled = !district.value;
    }
    district.addEventListener("change", filter);
    filter();
  });

  // Sections that appear only when needed (a vehicle, a driver).
  function toggles() {
    $all("[data-show-when]").forEach(function (el) {
      var box = document.getElementById(el.getAttribute("data-show-when"));
      if (box) el.hidden = !box.checked;
    });
    $all("[data-hide-when]").forEach(function (el) {
      var box = document.getElementById(el.getAttribute("data-hide-when"));
      if (box) el.hidden = box.checked;
    });
  }
  document.addEventListener("change", function (e) {
    if (e.target && e.target.type === "checkbox") toggles();
  });
  toggles();

  // Companions: show filled rows, add one at a time.
  var rows = $all(".companion");
  var add = document.querySelector("[data-add-companion]");
  function filled(row) { return $all("input", row).some(function (i) { return i.value.trim() !== ""; }); }
  if (rows.length && add) {
    rows.forEach(function (row) {
      row.hidden = !filled(row) && !row.querySelector("[aria-invalid]");
      var remove = row.querySelector("[data-remove-companion]");
      if (remove) {
        remove.hidden = false;
        remove.addEventListener("click", function () {
          $all("input", row).forEach(function (i) { i.value = ""; });
          row.hidden = true;
          add.hidden = false;
          add.focus();
        });
      }
    });
    function refreshAdd() { add.hidden = rows.every(function (r) { return !r.hidden; }); }
    add.addEventListener("click", function () {
      var next = rows.filter(function (r) { return r.hidden; })[0];
      if (next) { next.hidden = false; next.querySelector("input").focus(); }
      refreshAdd();
    });
    refreshAdd();
  }

  // Print button.
  $all("[data-print]").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function () { window.print(); });
  });

  // A photo over the limit (a phone camera's, usually) is made smaller here before it is
  // sent, as a JPEG whose longest side is at most 1600 px (then 1200, then 800). Where the
  // browser cannot, or without this script, the server says the file is too large.
  $all("input[type=file][data-max-bytes]").forEach(function (input) {
    if (!window.createImageBitmap || !window.DataTransfer || !HTMLCanvasElement.prototype.toBlob) return;
    var max = Number(input.getAttribute("data-max-bytes"));
    function shrink(img, sides) {
      var scale = Math.min(1, sides[0] / Math.max(img.width, img.height));
      var c = document.createElement("canvas");
      c.width = Math.round(img.width * scale);
      c.height = Math.round(img.height * scale);
      c.getContext("2d").drawImage(img, 0, 0, c.width, c.height);
      return new Promise(function (done) { c.toBlob(done, "image/jpeg", 0.85); }).then(function (blob) {
        if (blob && blob.size <= max) return blob;
        return sides.length > 1 ? shrink(img, sides.slice(1)) : null;
      });
    }
    input.addEventListener("change", function () {
      var file = input.files[0];
      if (!file || file.size <= max) return;
      var buttons = $all("button[type=submit]", input.form);
      buttons.forEach(function (b) { b.disabled = true; });
      createImageBitmap(file).then(function (img) { return shrink(img, [1600, 1200, 800]); }).then(function (blob) {
        if (!blob) return;
        var name = (file.name.replace(/\.[^.]*$/, "") || "photo") + ".jpg";
        var list = new DataTransfer();
        list.items.add(new File([blob], name, { type: "image/jpeg" }));
        input.files = list.files;
      }).catch(function () { /* not an image the browser reads: the server will say why */ }).then(function () {
        buttons.forEach(function (b) { b.disabled = false; });
      });
    });
  });

  // No double submissions on slow networks.
  $all("form").forEach(function (f) {
    f.addEventListener("submit", function () {
      setTimeout(function () { $all("button[type=submit]", f).forEach(function (b) { b.disabled = true; }); }, 0);
    });
  });

  // Move focus to the error summary so it is read out first.
  var summary = document.querySelector("[data-focus]");
  if (summary) summary.focus();
})();
