/* Inside our pages: tell the framing page our height and our events.
   Messages go only to the origin the server verified against the tenant's allowlist. */
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
})();
