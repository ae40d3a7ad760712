// MSC ledger explorer: the little JavaScript the pages use; everything works without it.
// On a phone there is no hover, so tapping an amount swaps it with its exact integer (sen or t).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var el = event.target.closest ? event.target.closest(".amt") : null;
    if (!el) { return; }
    if (el.dataset.shown === undefined) { el.dataset.shown = el.textContent; }
    var exact = el.classList.toggle("exact");
    el.textContent = exact ? el.dataset.exact + " " + (el.title.split(" ").slice(1).join(" ")) : el.dataset.shown;
  });
})();
