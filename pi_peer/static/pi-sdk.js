/* The local Pi peer's stand-in of the Pi SDK (https://sdk.minepi.com/pi-sdk.js), for development
 * and tests. Same interface and callback order as Pi's SDK:
 *   Pi.init({version, sandbox})
 *   Pi.authenticate(scopes, onIncompletePaymentFound) -> Promise<{accessToken, user: {uid, username}}>
 *     (onIncompletePaymentFound(payment) is called before the promise resolves, as Pi does)
 *   Pi.createPayment({amount, memo, metadata}, {onReadyForServerApproval(paymentId),
 *     onReadyForServerCompletion(paymentId, txid), onCancel(paymentId), onError(error, payment)})
 * The "wallet" is a dialog: Pay asks the peer to sign and submit a real Stellar transaction with
 * the Pioneer's key (after the app approved), Cancel cancels the payment as the Pioneer.
 * The signed-in Pioneer is remembered in localStorage, so a later visit is the same Pioneer.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = script ? new URL(script.src).origin : "";
  var USER_KEY = "pi-peer-uid";
  var state = { initialized: false, token: null };

  function call(path, body) {
    return fetch(base + path, {
      method: "POST",
      headers: { "Content-Type": "text/plain" },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) {
          var error = new Error(data.error_message || data.error || "Pi SDK error");
          error.code = data.error;
          error.payment = data.payment || null;
          throw error;
        }
        return data;
      });
    });
  }

  function dialog(paymentData) {
    return new Promise(function (resolve) {
      var box = document.createElement("div");
      box.id = "pi-wallet";
      box.setAttribute("role", "dialog");
      box.setAttribute("aria-label", "Pi Wallet");
      var s = box.style;  // CSSOM, allowed by a CSP without 'unsafe-inline'
      s.position = "fixed"; s.left = "0"; s.right = "0"; s.bottom = "0"; s.zIndex = "2147483647";
      s.background = "#fff"; s.borderTop = "3px solid #593b8b"; s.padding = "16px";
      s.fontFamily = "system-ui, sans-serif"; s.boxShadow = "0 -2px 12px rgba(0,0,0,.3)";
      var title = document.createElement("p");
      title.textContent = "Pi Wallet (local peer): " + paymentData.amount + " Pi — " + (paymentData.memo || "");
      var pay = document.createElement("button");
      pay.id = "pi-wallet-pay"; pay.type = "button"; pay.textContent = "Pay";
      var cancel = document.createElement("button");
      cancel.id = "pi-wallet-cancel"; cancel.type = "button"; cancel.textContent = "Cancel";
      function close(choice) { box.remove(); resolve(choice); }
      pay.addEventListener("click", function () { close("pay"); });
      cancel.addEventListener("click", function () { close("cancel"); });
      box.appendChild(title); box.appendChild(pay); box.appendChild(cancel);
      document.body.appendChild(box);
    });
  }

  window.Pi = {
    init: function (config) { state.initialized = true; state.config = config || {}; },
    authenticate: function (scopes, onIncompletePaymentFound) {
      if (!state.initialized) { return Promise.reject(new Error("Pi.init was not called")); }
      var uid = null;
      try { uid = window.localStorage.getItem(USER_KEY); } catch (e) { uid = null; }
      return call("/_peer/sdk/authenticate", { uid: uid, scopes: scopes }).then(function (r) {
        try { window.localStorage.setItem(USER_KEY, r.user.uid); } catch (e) { /* private mode */ }
        state.token = r.access_token;
        if (r.incomplete_payment && typeof onIncompletePaymentFound === "function") {
          onIncompletePaymentFound(r.incomplete_payment);
        }
        return { accessToken: r.access_token, user: r.user };
      });
    },
    createPayment: function (paymentData, callbacks) {
      var payment = null;
      var token = state.token;
      call("/_peer/sdk/payments", {
        access_token: token,
        amount: String(paymentData.amount),
        memo: paymentData.memo,
        metadata: paymentData.metadata
      }).then(function (created) {
        payment = created;
        callbacks.onReadyForServerApproval(created.identifier);
        return dialog(paymentData);
      }).then(function (choice) {
        if (choice === "cancel") {
          return call("/_peer/sdk/payments/" + payment.identifier + "/cancel", { access_token: token })
            .then(function () { callbacks.onCancel(payment.identifier); });
        }
        return call("/_peer/sdk/payments/" + payment.identifier + "/pay", { access_token: token })
          .then(function (paid) { callbacks.onReadyForServerCompletion(payment.identifier, paid.txid); });
      }).catch(function (error) {
        callbacks.onError(error, payment || error.payment || undefined);
      });
    },
    openShareDialog: function () {},
    nativeFeaturesList: function () { return Promise.resolve([]); }
  };
}());
