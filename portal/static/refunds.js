// Refund page, own-wallet merchants: the browser wallet signs the escrow's RefundAuthorization the
// page carries, with the amount filled in: the whole refundable amount (data-max) or the part typed
// in Rupiah (wallet.js does the signing).
(function () {
  "use strict";
  var form = document.getElementById("refund-form");
  var holder = document.getElementById("refund-typed");
  var errorBox = document.getElementById("refund-wallet-error");
  if (!form || !holder || !errorBox || form.dataset.wallet !== "own" || !window.MscWallet) {
    return;
  }
  window.MscWallet.signOnSubmit({
    form: form,
    holder: holder,
    errorBox: errorBox,
    amount: function (f) {
      return f.elements.kind.value === "full" ? Number(f.dataset.max) : window.MscWallet.sen(f.elements.amount.value);
    },
    fill: function (typed, amount) {
      typed.message.amount = amount;
      return form.dataset.signer;
    },
    fields: function (typed) {
      return { nonce: typed.message.nonce, valid_before: typed.message.validBefore };
    },
  });
})();
