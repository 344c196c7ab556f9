/* widget-server embed script: turns <div data-widget="signup|portal" ...> into a sized iframe
   and re-emits the frame's events as widget:<name> CustomEvents on the container. No dependencies. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var base = new URL(script.src).origin;
  var TITLES = {
    signup: { en: "Sign-up", de: "Anmeldung", sv: "Registrering", da: "Tilmelding" },
    portal: { en: "Customer portal", de: "Kundenportal", sv: "Kundportal", da: "Kundeportal" }
  };
  var mounted = [];

  function frameUrl(el) {
    var kind = el.getAttribute("data-widget"), url;
    if (kind === "signup") {
      var tenant = el.getAttribute("data-tenant") || "";
      if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(tenant)) return null;
      var plan = el.getAttribute("data-plan");
      url = new URL(base + "/t/" + tenant + "/signup" + (plan ? "/" + encodeURIComponent(plan) : ""));
    } else if (kind === "portal") {
      try { url = new URL(el.getAttribute("data-url") || "", base); } catch (e) { return null; }
      if (url.origin !== base) return null;
    } else {
      return null;
    }
    var lang = el.getAttribute("data-lang");
    if (lang) url.searchParams.set("lang", lang);
    url.searchParams.set("embed", location.origin);
    return url;
  }

  function mount(el) {
    if (el.getAttribute("data-widget-mounted")) return;
    var url = frameUrl(el);
    if (!url) { if (window.console) console.warn("widget-server: cannot embed", el); return; }
    el.setAttribute("data-widget-mounted", "1");
    var kind = el.getAttribute("data-widget");
    var lang = (el.getAttribute("data-lang") || "en").slice(0, 2);
    var frame = document.createElement("iframe");
    frame.src = url.href;
    frame.title = el.getAttribute("data-title") || TITLES[kind][lang] || TITLES[kind].en;
    frame.setAttribute("allow", "payment");
    frame.setAttribute("loading", "eager");
    frame.style.cssText = "display:block;width:100%;border:0;height:600px;overflow:hidden";
    el.appendChild(frame);
    mounted.push({ el: el, frame: frame });
  }

  function emit(el, name, detail) {
    var event;
    try { event = new CustomEvent("widget:" + name, { detail: detail, bubbles: true }); }
    catch (e) { event = document.createEvent("CustomEvent"); event.initCustomEvent("widget:" + name, true, false, detail); }
    el.dispatchEvent(event);
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== base) return;
    var data = event.data;
    if (!data || data.source !== "widget-server") return;
    for (var i = 0; i < mounted.length; i++) {
      var m = mounted[i];
      if (m.frame.contentWindow !== event.source) continue;
      if (data.type === "resize" && typeof data.height === "number" && data.height > 0) {
        m.frame.style.height = Math.min(Math.ceil(data.height), 20000) + "px";
        emit(m.el, "resize", { height: data.height });
      } else if (data.type === "event" && /^[a-z][a-z-]{0,40}$/.test(data.name)) {
        emit(m.el, data.name, data.detail || {});
      }
    }
  });

  function scan() {
    var nodes = document.querySelectorAll("[data-widget]");
    for (var i = 0; i < nodes.length; i++) mount(nodes[i]);
  }
  scan();
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", scan);
})();
