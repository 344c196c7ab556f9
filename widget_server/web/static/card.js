/* Cards with Stripe's Payment Element, on the sign-up form and the portal's card page.
   The markup is templates/card_element.html ([data-card-setup]). Without JavaScript, or when
   Stripe.js did not load, nothing here runs and the card option stays hidden: card numbers are
   typed only into Stripe's own frame, never into our forms.
   On submit: stripe.confirmSetup, then the form is posted with the SetupIntent's id and the
   payment method id; the server asks Stripe whether that is true before it saves anything. */
(function () {
  "use strict";
  var box = document.querySelector("[data-card-setup]");
  if (!box || typeof window.Stripe !== "function") return;
  var form = box.closest("form");
  var radio = document.getElementById("pm-card");  // the sign-up's card option; the portal page has none
  var choice = document.querySelector("[data-card-choice]");
  var errorBox = document.getElementById("card-error");
  var intentInput = form.querySelector('input[name="setup_intent"]');
  var methodInput = form.querySelector('input[name="payment_method_id"]');
  var stripe = window.Stripe(box.getAttribute("data-publishable-key"));
  var elements = null, mounting = null, busy = false;

  function say(text) {
    errorBox.textContent = text || "";
    errorBox.hidden = !text;
  }

  function chosen() { return !radio || radio.checked; }

  function clientSecret() {
    var given = box.getAttribute("data-client-secret");
    if (given) return Promise.resolve(given);
    var body = new URLSearchParams();
    body.set("csrf_token", form.querySelector('input[name="csrf_token"]').value);
    body.set("submission", form.querySelector('input[name="submission"]').value);
    return fetch(box.getAttribute("data-intent-url"), {
      method: "POST", body: body, credentials: "same-origin", headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok || !data.client_secret) throw new Error(data.detail || "");
        return data.client_secret;
      });
    });
  }

  function mount() {
    if (mounting) return mounting;
    mounting = clientSecret().then(function (secret) {
      elements = stripe.elements({ clientSecret: secret, locale: document.documentElement.lang || "auto" });
      elements.create("payment").mount("#payment-element");
    }).catch(function (error) {
      mounting = null;
      say((error && error.message) || box.getAttribute("data-unavailable"));
    });
    return mounting;
  }

  function update() {
    box.hidden = !chosen();
    if (chosen() && !intentInput.value) mount();
  }

  form.addEventListener("submit", function (event) {
    if (!chosen() || intentInput.value) return;  // another method, or a card confirmed already
    event.preventDefault();
    if (busy) return;
    if (!elements) { mount(); say(box.getAttribute("data-enter-card")); return; }
    busy = true;
    say("");
    stripe.confirmSetup({ elements: elements, redirect: "if_required" }).then(function (result) {
      busy = false;
      if (result.error) { say(result.error.message || box.getAttribute("data-unavailable")); return; }
      var intent = result.setupIntent;
      intentInput.value = intent.id;
      methodInput.value = typeof intent.payment_method === "string" ? intent.payment_method
        : (intent.payment_method && intent.payment_method.id) || "";
      form.submit();
    }, function () {
      busy = false;
      say(box.getAttribute("data-unavailable"));
    });
  });

  if (choice) choice.hidden = false;
  var shown = document.querySelectorAll("[data-card-js]");  // e.g. the portal's submit button
  for (var j = 0; j < shown.length; j++) shown[j].hidden = false;
  var radios = form.querySelectorAll('input[name="payment_method"]');
  for (var i = 0; i < radios.length; i++) radios[i].addEventListener("change", update);
  update();
})();
