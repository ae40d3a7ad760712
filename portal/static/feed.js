// The Today page's live feed: payments arrive as Server-Sent Events and are prepended to the
// list, shown in a banner for a few seconds, and the day's totals are updated. No inline script
// (CSP script-src 'self'); text is set with textContent only.
(function () {
  "use strict";
  var feed = document.getElementById("feed");
  if (!feed || !window.EventSource) {
    return;
  }
  var banner = document.getElementById("banner");
  var empty = document.getElementById("feed-empty");
  var seen = {};
  var hideTimer = null;
  Array.prototype.forEach.call(feed.querySelectorAll("li[data-payment]"), function (li) {
    seen[li.getAttribute("data-payment")] = true;
  });

  function setText(id, text) {
    var el = document.getElementById(id);
    if (el) {
      el.textContent = text;
    }
  }

  function show(data) {
    var li = document.createElement("li");
    li.className = "fresh";
    li.setAttribute("data-payment", data.payment_id);
    var link = document.createElement("a");
    link.href = data.href;
    link.textContent = data.text;
    li.appendChild(link);
    var meta = document.createElement("span");
    meta.className = "muted";
    meta.textContent = " · " + data.time + " · " + data.pi;
    li.appendChild(meta);
    feed.insertBefore(li, feed.firstChild);
    if (empty) {
      empty.classList.add("hidden");
    }
    setText("sales-count", String(data.count));
    setText("sales-idr", data.total_idr);
    setText("sales-pi", data.total_pi);
    if (banner) {
      banner.textContent = data.text;
      banner.classList.remove("hidden");
      if (hideTimer) {
        window.clearTimeout(hideTimer);
      }
      hideTimer = window.setTimeout(function () {
        banner.classList.add("hidden");
      }, 8000);
    }
  }

  var source = new EventSource(feed.getAttribute("data-source"));
  source.addEventListener("payment", function (event) {
    var data = JSON.parse(event.data);
    if (seen[data.payment_id]) {
      return;
    }
    seen[data.payment_id] = true;
    show(data);
  });
  source.addEventListener("end", function () {
    source.close();
  });
})();
