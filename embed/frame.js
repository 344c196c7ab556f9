/* Inside our pages: tell the framing page our height and our events.
   Messages go only to the origin the server verified against the tenant's allowlist.
   When the browser refuses our cookie inside the frame (checked with a round trip, since
   document.hasStorageAccess() cannot be trusted), offer to continue in a new tab. */
(function () {
  "use strict";
  var parentOrigin = document.body && document.body.getAttribute("data-parent-origin");
  if (!parentOrigin || window.parent === window) return;
  function send(message) {
    message.source = "widget-server";
    window.parent.postMessage(message, parentOrigin);
  }
  var last = 0;
  function resize() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height !== last) { last = height; send({ type: "resize", height: height }); }
  }
  if (window.ResizeObserver) new ResizeObserver(resize).observe(document.documentElement);
  window.addEventListener("load", resize);
  resize();
  send({ type: "event", name: "loaded", detail: { path: location.pathname } });
  var marked = document.querySelector("[data-widget-event]");
  if (marked) {
    var detail = {};
    try { detail = JSON.parse(marked.getAttribute("data-widget-detail") || "{}"); } catch (e) { detail = {}; }
    send({ type: "event", name: marked.getAttribute("data-widget-event"), detail: detail });
  }
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") send({ type: "close" });  // in a modal, Esc closes it
  });

  function fallback() {
    var template = document.getElementById("widget-fallback");
    if (!template || document.getElementById("widget-fallback-notice")) return;
    var url = new URL(location.href);
    url.searchParams.delete("embed");
    var notice = template.content.firstElementChild.cloneNode(true);
    notice.id = "widget-fallback-notice";
    notice.querySelector("a").href = url.href;
    var main = document.getElementById("main") || document.body;
    main.insertBefore(notice, main.firstChild);
    send({ type: "event", name: "fallback", detail: { url: url.href } });
  }
  var probe = document.body.getAttribute("data-cookie-probe");
  if (probe && window.fetch) {
    fetch(probe, { credentials: "same-origin", cache: "no-store" })
      .then(function () { return fetch(probe + "?check=1", { credentials: "same-origin", cache: "no-store" }); })
      .then(function (answer) { return answer.json(); })
      .then(function (result) { if (!result.stored) fallback(); })
      .catch(function () {});
  }
})();
