// SegmentIQ pages: the little behaviour htmx does not cover. No build step, no dependencies.
// Everything is delegated from `document`, so it keeps working after htmx swaps new content in.
(function () {
  "use strict";

  // ---- Upload: drag and drop, client-side size check, progress ------------------------------

  function uploadForm(el) {
    return el && el.closest ? el.closest("#upload-zone") : null;
  }

  function setStatus(form, text) {
    var status = form.querySelector("#upload-status");
    if (status) status.textContent = text;
  }

  function showError(form, text) {
    var old = form.querySelector("#upload-error");
    if (old) old.remove();
    var box = document.createElement("div");
    box.className = "alert error";
    box.id = "upload-error";
    box.setAttribute("role", "alert");
    var strong = document.createElement("strong");
    strong.textContent = "Upload failed.";
    box.appendChild(strong);
    box.appendChild(document.createTextNode(" " + text));
    form.appendChild(box);
  }

  function startUpload(form, file) {
    var max = parseInt(form.dataset.maxBytes || "0", 10);
    if (max > 0 && file.size > max) {
      showError(form, file.name + " is larger than the upload limit of " + form.dataset.maxHuman + ".");
      return;
    }
    var old = form.querySelector("#upload-error");
    if (old) old.remove();
    setStatus(form, "Uploading " + file.name + "…");
    form.requestSubmit();
  }

  document.addEventListener("change", function (e) {
    var form = uploadForm(e.target);
    if (form && e.target.type === "file" && e.target.files.length) {
      startUpload(form, e.target.files[0]);
    }
    if (e.target.matches && e.target.matches("select[data-autosubmit]")) {
      e.target.form.requestSubmit();
    }
    if (e.target.name === "mode") syncMode(e.target.form);
    if (e.target.name === "method") syncMetric(e.target.form);
  });

  ["dragenter", "dragover"].forEach(function (type) {
    document.addEventListener(type, function (e) {
      var zone = e.target.closest && e.target.closest("[data-dropzone]");
      if (!zone) return;
      e.preventDefault();
      zone.classList.add("dragover");
    });
  });
  ["dragleave", "drop"].forEach(function (type) {
    document.addEventListener(type, function (e) {
      var zone = e.target.closest && e.target.closest("[data-dropzone]");
      if (zone) zone.classList.remove("dragover");
    });
  });
  document.addEventListener("drop", function (e) {
    var zone = e.target.closest && e.target.closest("[data-dropzone]");
    if (!zone) return;
    e.preventDefault();
    var files = e.dataTransfer && e.dataTransfer.files;
    if (!files || !files.length) return;
    var form = uploadForm(zone);
    var input = form.querySelector("input[type=file]");
    input.files = files;
    startUpload(form, files[0]);
  });

  document.addEventListener("htmx:xhr:progress", function (e) {
    var form = uploadForm(e.target);
    if (!form || !e.detail.lengthComputable) return;
    var box = form.querySelector(".upload-progress");
    var bar = box && box.querySelector("progress");
    if (!bar) return;
    box.hidden = false;
    var pct = Math.round((e.detail.loaded / e.detail.total) * 100);
    bar.value = pct;
    setStatus(form, pct < 100 ? "Uploading… " + pct + "%" : "Checking the file…");
  });

  // ---- Run form: show the field of the chosen segmentation mode; Euclidean-only linkages -----

  function syncMode(form) {
    if (!form) return;
    var checked = form.querySelector("input[name=mode]:checked");
    var mode = checked ? checked.value : "k";
    form.querySelectorAll(".mode-part").forEach(function (part) {
      part.hidden = part.dataset.mode !== mode;
    });
  }

  function syncMetric(form) {
    if (!form) return;
    var method = form.querySelector("input[name=method]:checked");
    var euclideanOnly = method && method.dataset.euclideanOnly === "true";
    form.querySelectorAll("input[name=metric]").forEach(function (radio) {
      if (radio.value !== "euclidean") {
        radio.disabled = euclideanOnly;
        if (euclideanOnly && radio.checked) {
          var e = form.querySelector("input[name=metric][value=euclidean]");
          if (e) e.checked = true;
        }
      }
    });
  }

  // ---- Tooltips: Escape hides the one in use ------------------------------------------------

  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") {
      document.querySelectorAll(".tip").forEach(function (t) { t.classList.add("dismissed"); });
    }
  });
  ["focusin", "mouseover"].forEach(function (type) {
    document.addEventListener(type, function (e) {
      var tip = e.target.closest && e.target.closest(".tip");
      if (tip) tip.classList.remove("dismissed");
    });
  });

  // ---- Tabs: arrow keys move between tab links (roving tabindex); Enter opens one ------------

  document.addEventListener("keydown", function (e) {
    var tab = e.target.closest && e.target.closest("[role=tab]");
    if (!tab) return;
    var tabs = Array.prototype.slice.call(tab.parentElement.querySelectorAll("[role=tab]"));
    var i = tabs.indexOf(tab);
    var next = null;
    if (e.key === "ArrowRight") next = tabs[(i + 1) % tabs.length];
    else if (e.key === "ArrowLeft") next = tabs[(i - 1 + tabs.length) % tabs.length];
    else if (e.key === "Home") next = tabs[0];
    else if (e.key === "End") next = tabs[tabs.length - 1];
    else if (e.key === " ") { e.preventDefault(); tab.click(); return; }
    if (!next) return;
    e.preventDefault();
    tabs.forEach(function (t) { t.tabIndex = t === next ? 0 : -1; });
    next.focus();
  });

  // ---- Dendrogram zoom ----------------------------------------------------------------------

  var zoomLevels = [50, 75, 100, 150, 200, 300, 400, 600, 800];

  function zoom(controls, how) {
    var box = document.getElementById(controls.dataset.zoomControls);
    var img = box && box.querySelector("img");
    if (!img) return;
    var current = parseInt(img.dataset.zoom || "100", 10);
    var i = zoomLevels.indexOf(current);
    if (how === "in") i = Math.min(i + 1, zoomLevels.length - 1);
    else if (how === "out") i = Math.max(i - 1, 0);
    else i = zoomLevels.indexOf(100);
    var level = zoomLevels[i];
    img.dataset.zoom = String(level);
    img.style.width = level + "%";
    var out = controls.querySelector("output");
    if (out) out.textContent = level + "%";
  }

  document.addEventListener("click", function (e) {
    var btn = e.target.closest && e.target.closest("[data-zoom]");
    if (!btn) return;
    zoom(btn.closest("[data-zoom-controls]"), btn.dataset.zoom);
  });
  document.addEventListener("keydown", function (e) {
    var box = e.target.closest && e.target.closest(".zoom-box");
    if (!box || !box.id) return;
    var controls = document.querySelector('[data-zoom-controls="' + box.id + '"]');
    if (!controls) return;
    if (e.key === "+" || e.key === "=") { e.preventDefault(); zoom(controls, "in"); }
    if (e.key === "-") { e.preventDefault(); zoom(controls, "out"); }
    if (e.key === "0") { e.preventDefault(); zoom(controls, "reset"); }
  });

  // ---- After each swap: set up new content, move focus like a page load would ---------------

  function init(root) {
    // On a narrow screen the tab strip scrolls: bring the open tab into view.
    var scope = root.querySelectorAll ? root : document;
    scope.querySelectorAll("[role=tablist]").forEach(function (list) {
      var tab = list.querySelector("[aria-selected=true]");
      if (tab && list.scrollWidth > list.clientWidth) {
        list.scrollLeft = tab.offsetLeft - list.offsetLeft - (list.clientWidth - tab.offsetWidth) / 2;
      }
    });
    var forms = Array.prototype.slice.call(root.querySelectorAll("#run-form"));
    if (root.matches && root.matches("#run-form")) forms.push(root);
    forms.forEach(function (form) {
      syncMode(form);
      syncMetric(form);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (e) { init(e.target); });

  document.addEventListener("htmx:afterSettle", function (e) {
    if (!e.detail.target || e.detail.target.id !== "main") return;
    var trigger = e.detail.requestConfig && e.detail.requestConfig.elt;
    var selected = document.querySelector("#main [role=tab][aria-selected=true]");
    if (trigger && trigger.getAttribute && trigger.getAttribute("role") === "tab" && selected) {
      selected.focus();
      return;
    }
    var heading = document.querySelector("#main h1");
    if (heading && !document.activeElement.closest("#main")) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    }
  });
})();
