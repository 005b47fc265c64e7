// Calls in progress on the home page, refreshed every few seconds without a reload.
// Everything shown goes in through textContent: a caller's number is never markup.
(function () {
  "use strict";
  var box = document.getElementById("live");
  if (!box) { return; }
  var list = box.querySelector("ul");
  var empty = box.querySelector(".empty");
  var count = box.querySelector(".count");

  function mmss(secs) {
    var m = Math.floor(secs / 60), s = secs % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  function show(calls) {
    list.replaceChildren();
    calls.forEach(function (call) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = "/dashboard/calls/" + encodeURIComponent(call.id);
      link.textContent = call.caller;
      var when = document.createElement("span");
      when.className = "muted small";
      when.textContent = " since " + call.started + " · " + mmss(call.secs);
      item.append(link, when);
      list.append(item);
    });
    empty.hidden = calls.length > 0;
    count.textContent = String(calls.length);
    box.dataset.updated = String(Date.now());
  }

  function poll() {
    fetch("/dashboard/live.json", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        if (r.status === 401) { window.location = "/dashboard/login"; return null; }
        return r.ok ? r.json() : null;
      })
      .then(function (body) {
        if (body) { show(body.calls); }
        window.setTimeout(poll, ((body && body.poll_secs) || 3) * 1000);
      })
      .catch(function () { window.setTimeout(poll, 10000); });
  }
  poll();
})();
