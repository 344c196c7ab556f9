/* widget-server embed script. No dependencies.
   Inline: <div data-widget="signup|portal" ...> becomes an iframe sized to its content.
   Modal: <button data-widget="signup" data-mode="modal" ...> or Widget.open({type, tenant, plan, lang, url})
   opens the page in a dialog (focus moves in, Esc and the close button return it to the opener).
   Calls made before this script loaded (Widget("open", {...}) with the stub from the README) are replayed.
   The frame's events reach the page as widget:<name> CustomEvents on the container (or the opener). */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var base = new URL(script.src).origin;
  var TITLES = {
    signup: { en: "Sign-up", de: "Anmeldung", sv: "Registrering", da: "Tilmelding" },
    portal: { en: "Customer portal", de: "Kundenportal", sv: "Kundportal", da: "Kundeportal" }
  };
  var CLOSE = { en: "Close", de: "Schließen", sv: "Stäng", da: "Luk" };
  var mounted = [];
  var modal = null;

  function attrs(el) {
    return { type: el.getAttribute("data-widget"), tenant: el.getAttribute("data-tenant"), plan: el.getAttribute("data-plan"),
             lang: el.getAttribute("data-lang"), url: el.getAttribute("data-url"), title: el.getAttribute("data-title") };
  }

  function frameUrl(o) {
    var url;
    if (o.type === "signup") {
      if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(o.tenant || "")) return null;
      url = new URL(base + "/t/" + o.tenant + "/signup" + (o.plan ? "/" + encodeURIComponent(o.plan) : ""));
    } else if (o.type === "portal") {
      try { url = new URL(o.url || "", base); } catch (e) { return null; }
      if (url.origin !== base) return null;
    } else {
      return null;
    }
    if (o.lang) url.searchParams.set("lang", o.lang);
    url.searchParams.set("embed", location.origin);
    return url;
  }

  function makeFrame(o, holder, style) {
    var url = frameUrl(o);
    if (!url) { if (window.console) console.warn("widget-server: cannot embed", o); return null; }
    var lang = (o.lang || "en").slice(0, 2);
    var frame = document.createElement("iframe");
    frame.src = url.href;
    frame.title = o.title || TITLES[o.type][lang] || TITLES[o.type].en;
    frame.setAttribute("allow", "payment");
    frame.style.cssText = "display:block;width:100%;border:0;height:600px;overflow:hidden" + (style || "");
    mounted.push({ el: holder, frame: frame });
    return frame;
  }

  function mount(el) {
    if (el.getAttribute("data-widget-mounted")) return;
    el.setAttribute("data-widget-mounted", "1");
    if (el.getAttribute("data-mode") === "modal") {
      el.addEventListener("click", function (event) { event.preventDefault(); open(attrs(el), el); });
      return;
    }
    var frame = makeFrame(attrs(el), el);
    if (frame) el.appendChild(frame);
  }

  function open(o, opener) {
    close();
    opener = opener || o.opener || document.activeElement;
    var dialog = document.createElement("dialog");
    var frame = makeFrame(o, opener && opener !== document.body ? opener : dialog, ";max-height:none");
    if (!frame) return;
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = "\u00d7";
    button.setAttribute("aria-label", CLOSE[(o.lang || "en").slice(0, 2)] || CLOSE.en);
    button.style.cssText = "position:sticky;top:0;float:right;z-index:1;font:inherit;font-size:1.5rem;line-height:1;" +
      "padding:.25rem .6rem;margin:.25rem;border:0;border-radius:4px;background:#fff;color:#111;cursor:pointer";
    dialog.setAttribute("aria-label", frame.title);
    dialog.style.cssText = "padding:0;border:0;border-radius:8px;width:min(42rem,calc(100vw - 2rem));" +
      "max-height:calc(100vh - 2rem);overflow:auto;background:#fff";
    dialog.appendChild(button);
    dialog.appendChild(frame);
    // Tabbing out of the frame's last field lands here and goes round to the close button.
    var end = document.createElement("span");
    end.tabIndex = 0;
    end.addEventListener("focus", function () { button.focus(); });
    dialog.appendChild(end);
    document.body.appendChild(dialog);
    modal = { dialog: dialog, frame: frame, opener: opener };
    button.addEventListener("click", close);
    dialog.addEventListener("cancel", function (event) { event.preventDefault(); close(); });
    dialog.showModal();
    frame.focus();
  }

  function close() {
    if (!modal) return;
    var m = modal;
    modal = null;
    mounted = mounted.filter(function (x) { return x.frame !== m.frame; });
    if (m.dialog.open) m.dialog.close();
    m.dialog.parentNode.removeChild(m.dialog);
    emit(m.opener && m.opener.dispatchEvent ? m.opener : document, "close", {});
    if (m.opener && m.opener.focus) m.opener.focus();
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
      } else if (data.type === "close" && modal && modal.frame === m.frame) {
        close();
      } else if (data.type === "event" && /^[a-z][a-z-]{0,40}$/.test(data.name)) {
        emit(m.el, data.name, data.detail || {});
      }
    }
  });

  function scan() {
    var nodes = document.querySelectorAll("[data-widget]");
    for (var i = 0; i < nodes.length; i++) mount(nodes[i]);
  }

  var queued = (window.Widget && window.Widget.q) || [];
  var api = function (method, options) { if (api[method]) api[method](options); };
  api.open = function (options) { open(options || {}, options && options.opener); };
  api.close = close;
  api.scan = scan;
  window.Widget = api;
  function ready() {
    scan();
    for (var i = 0; i < queued.length; i++) api.apply(null, queued[i]);
    queued = [];
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready); else ready();
})();
