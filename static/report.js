// The printable report's one behaviour: its print button opens the browser's print dialog
// (inline handlers are not allowed by the pages' content security policy).
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var button = e.target.closest ? e.target.closest("[data-print]") : null;
    if (button) window.print();
  });
})();
