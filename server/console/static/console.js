// drafter console: the only script. A page whose body has data-refresh
// (a run that is running) reloads its <main> every few seconds, unless the
// operator is typing in a field or has a disclosure open.
(function () {
  "use strict";
  var secs = parseInt(document.body.getAttribute("data-refresh") || "0", 10);
  if (!secs) { return; }
  function busy() {
    var a = document.activeElement;
    if (a && (a.tagName === "INPUT" || a.tagName === "TEXTAREA" || a.tagName === "SELECT")) { return true; }
    return document.querySelector("main details[open]") !== null;
  }
  function tick() {
    if (busy()) { setTimeout(tick, secs * 1000); return; }
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("main");
        if (fresh) { document.getElementById("main").innerHTML = fresh.innerHTML; }
        if (doc.body.getAttribute("data-refresh")) { setTimeout(tick, secs * 1000); }
      })
      .catch(function () { setTimeout(tick, secs * 4000); });
  }
  setTimeout(tick, secs * 1000);
})();
