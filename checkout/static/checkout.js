/* The checkout page's Pi flow (no inline script: the page's CSP forbids it).
 *
 * Quote page: countdown of the firm price (a new price is fetched when it ends, never charged
 * silently), then Pi.authenticate(['username','payments'], onIncompletePaymentFound) and
 * Pi.createPayment({amount, memo, metadata: {merchant, quote, request}}, callbacks):
 *   onReadyForServerApproval  -> POST /pay/api/approve   (the server binds and approves)
 *   onReadyForServerCompletion -> POST /pay/api/complete (the server records the txid)
 *   onCancel / onError        -> POST /pay/api/cancel    (nothing is left half-made)
 * An incomplete payment found at sign-in is settled by the server (/pay/api/incomplete) before a
 * new payment starts. Receipt page: polls /pay/api/payments/<id> until paid (or failed).
 */
(function () {
  "use strict";
  var root = document.getElementById("checkout");
  if (!root) { return; }
  var main = document.getElementById("main");
  var csrf = main ? main.getAttribute("data-csrf") : "";
  var statusEl = document.getElementById("status");
  var d = root.dataset;

  function say(text, kind) {
    if (!statusEl) { return; }
    statusEl.textContent = text;
    statusEl.className = "status " + (kind || "");
  }

  function post(path, body) {
    return fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error(data.message || d.msgError);
          error.code = data.error || "http_" + response.status;
          throw error;
        }
        return data;
      });
    });
  }

  function sdk() {
    if (!window.Pi) { throw new Error(d.msgNosdk); }
    window.Pi.init({ version: "2.0", sandbox: d.sandbox === "true" });
    return window.Pi;
  }

  /* Signs in; settles a payment an earlier visit left behind before anything new starts. */
  function signIn() {
    var found = null;
    var Pi = sdk();
    say(d.msgSigning, "busy");
    return Pi.authenticate(["username", "payments"], function (payment) { found = payment; })
      .then(function (auth) {
        if (!found) { return { auth: auth, settled: null }; }
        return post("/pay/api/incomplete", { pi_payment_id: found.identifier, access_token: auth.accessToken })
          .then(function (settled) { return { auth: auth, settled: settled }; });
      });
  }

  function followPayment(paymentId) {
    var every = parseInt(d.poll || "1500", 10);
    function tick() {
      fetch("/pay/api/payments/" + paymentId, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (p) {
          if (p.message) { say(p.message, p.paid ? "paid" : (p.failed ? "failed" : "busy")); }
          if (p.in_escrow || p.failed) { window.location.reload(); return; }
          if (p.paid && d.paid !== "true") { window.location.reload(); return; }
          window.setTimeout(tick, every);
        })
        .catch(function () { window.setTimeout(tick, every * 2); });
    }
    window.setTimeout(tick, every);
  }

  function quotePage() {
    var payButton = document.getElementById("pay");
    var countdown = document.getElementById("countdown");
    var expires = Date.parse(d.expires);
    var busy = false;
    var timer = null;

    function renew() {
      say(d.msgExpired, "busy");
      post("/pay/api/renew", { quote_id: d.quote })
        .then(function (q) { window.location.replace(q.url); })
        .catch(function (e) { say(e.message, "failed"); });
    }

    function tick() {
      var left = Math.max(0, Math.round((expires - Date.now()) / 1000));
      if (countdown) { countdown.textContent = d.msgSeconds.replace("{s}", String(left)); }
      if (left <= 0 && !busy) { window.clearInterval(timer); renew(); }
    }
    if (payButton && !isNaN(expires)) { timer = window.setInterval(tick, 1000); tick(); }

    function fail(error) {
      busy = false;
      if (payButton) { payButton.disabled = false; }
      say(error && error.message ? error.message : d.msgError, "failed");
    }

    function pay() {
      if (busy) { return; }
      busy = true;
      payButton.disabled = true;
      var token = null;
      var closed = false; // the customer closed the wallet: its message wins over late refusals
      signIn().then(function (signedIn) {
        token = signedIn.auth.accessToken;
        if (signedIn.settled && signedIn.settled.status) { say(d.msgResumed, "busy"); }
        var metadata = { merchant: d.merchant, quote: d.quote };
        if (d.request) { metadata.request = d.request; }
        say(d.msgApproving, "busy");
        window.Pi.createPayment({ amount: Number(d.amount), memo: d.memo, metadata: metadata }, {
          onReadyForServerApproval: function (paymentId) {
            post("/pay/api/approve", { pi_payment_id: paymentId, quote_id: d.quote, access_token: token })
              .catch(function (error) {
                // Closed in the wallet meanwhile: onCancel tells the customer, not this refusal
                // (the approval may finish after the cancel expired the payment, and be refused).
                if (!closed && error.code !== "pi_payment_cancelled") { fail(error); }
              });
          },
          onReadyForServerCompletion: function (paymentId, txid) {
            say(d.msgCompleting, "busy");
            post("/pay/api/complete", { pi_payment_id: paymentId, txid: txid, access_token: token })
              .then(function (done) { window.location.assign(done.receipt_url); })
              .catch(function (error) { fail(error); });
          },
          onCancel: function (paymentId) {
            closed = true;
            post("/pay/api/cancel", { pi_payment_id: paymentId, access_token: token })
              .catch(function () { return null; })
              .then(function () { busy = false; payButton.disabled = false; say(d.msgCancelled, "failed"); });
          },
          onError: function (error, payment) {
            if (payment && payment.identifier) {
              post("/pay/api/cancel", { pi_payment_id: payment.identifier, access_token: token })
                .catch(function () { return null; });
            }
            fail(error);
          }
        });
      }).catch(fail);
    }
    if (payButton) { payButton.addEventListener("click", pay); }
  }

  function receiptPage() {
    var printButton = document.getElementById("print");
    if (printButton) { printButton.addEventListener("click", function () { window.print(); }); }
    var resume = document.getElementById("resume");
    if (resume) {
      resume.addEventListener("click", function () {
        resume.disabled = true;
        signIn().then(function (signedIn) {
          if (signedIn.settled && signedIn.settled.status) { say(d.msgResumed, "busy"); }
          followPayment(d.payment);
        }).catch(function (error) { resume.disabled = false; say(error.message || d.msgError, "failed"); });
      });
    }
    if (d.final !== "true") { followPayment(d.payment); }
  }

  if (d.page === "quote") { quotePage(); } else if (d.page === "receipt") { receiptPage(); }
}());
