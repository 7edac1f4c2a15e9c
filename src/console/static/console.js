// doorman's console: the only script. Pages work without it; it adds
// copying a revealed code with a tap and refreshing Today every minute.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button || !navigator.clipboard) return;
    navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
      button.textContent = "Copied";
    });
  });
  var refresh = Number(document.body.getAttribute("data-refresh") || 0);
  if (refresh > 0) {
    setInterval(function () {
      // Not while someone is typing into a form.
      if (!document.activeElement || document.activeElement === document.body) location.reload();
    }, refresh * 1000);
  }
})();
