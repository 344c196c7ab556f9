"""A demo merchant page on a second origin that embeds the sign-up with the snippet.

`make run` serves it on http://localhost:8001 next to the service on
http://127.0.0.1:8000, so the embed crosses sites exactly as on a real shop.
"""
import os
import subprocess
import sys
import threading
from html import escape

from flask import Flask, request
from werkzeug.serving import make_server

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo merchant shop</title>
<style>body{{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}}
#events{{font-family:monospace;background:#f4f4f4;padding:.5rem;min-height:2rem}}</style></head>
<body>
<header><h1>Demo merchant shop</h1>
<p>This page is served from <code>{origin}</code>; the sign-up below comes from <code>{service}</code> through the embed snippet.</p>
<nav aria-label="Languages">{langs}</nav></header>
<main>
<div id="signup" data-widget="signup" data-tenant="{tenant}"{plan} data-lang="{lang}"></div>
<script async src="{service}/embed.js"></script>
<h2>Events received by this page</h2>
<ol id="events" aria-live="polite"></ol>
<script>
["widget:loaded","widget:signup-completed","widget:contract-changed","widget:resize"].forEach(function (name) {{
  document.getElementById("signup").addEventListener(name, function (event) {{
    var li = document.createElement("li");
    li.textContent = name + " " + JSON.stringify(event.detail);
    li.setAttribute("data-event", name);
    document.getElementById("events").appendChild(li);
  }});
}});
</script>
</main></body></html>"""


def merchant_app(service_url: str) -> Flask:
    app = Flask("demo_merchant")

    @app.get("/")
    def index():
        lang = request.args.get("lang", "en")
        tenant = request.args.get("tenant", "demo")
        plan = request.args.get("plan", "")
        langs = " · ".join(f'<a href="?lang={code}&amp;tenant={escape(tenant)}">{code}</a>' for code in ("en", "de", "sv", "da"))
        return PAGE.format(
            origin=escape(request.host_url.rstrip("/")), service=escape(service_url), tenant=escape(tenant),
            lang=escape(lang), langs=langs, plan=f' data-plan="{escape(plan)}"' if plan else "",
        )

    return app


def start_in_thread(app, host: str, port: int):
    """A threaded WSGI server in the background; returns it so callers can shut it down."""
    server = make_server(host, port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def serve_both(host: str, port: int, merchant_port: int) -> None:
    from . import create_app
    service_url = f"http://{host}:{port}"
    app = create_app()
    start_in_thread(merchant_app(service_url), "localhost", merchant_port)
    print(
        "\nwidget-server is running\n"
        f"  hosted sign-up page:   {service_url}/t/demo/signup   (also ?lang=de, sv, da)\n"
        f"  second tenant:         {service_url}/t/fjord/signup\n"
        f"  demo merchant page:    http://localhost:{merchant_port}/   (embeds the sign-up via embed.js)\n"
        f"  API key for the API:   .venv/bin/widget-server api-keys create demo\n"
        f"  pre-filled link:       curl -X POST {service_url}/api/v1/signup-links -H 'Authorization: Bearer <key>'"
        " -H 'Content-Type: application/json' -d '{\"plan\": \"pro\", \"prefill\": {\"email\": \"kim@example.com\"}, \"locked\": [\"email\"]}'\n"
        f"  customer portal:       {service_url}/t/demo/login (e-mail sign-in; mails land in instance/mail/),\n"
        f"                         or a one-time link: curl -X POST {service_url}/api/v1/portal-sessions"
        " -H 'Authorization: Bearer <key>' -H 'Content-Type: application/json' -d '{\"customer_id\": \"cus_...\"}'\n"
        f"  health:                {service_url}/healthz\n"
        f"  e-mails:               written to instance/mail/ as .eml files (set WIDGET_SMTP_HOST to send them)\n"
        f"  background worker:     running, log in instance/worker.log\n",
        flush=True,
    )
    # The background worker sends e-mails (as .eml files under instance/mail/ unless SMTP is
    # configured), delivers webhooks and runs billing; it stops with the server.
    log_path = os.path.join(app.instance_path, "worker.log")
    os.makedirs(app.instance_path, exist_ok=True)
    with open(log_path, "ab") as log:
        worker = subprocess.Popen([sys.executable, "-m", "widget_server.cli", "worker"], stdout=log, stderr=log)
    server = make_server(host, port, app, threaded=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        worker.terminate()
        worker.wait(timeout=10)
