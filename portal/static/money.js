// Money page, own-wallet merchants: the browser wallet signs the EIP-3009 ReceiveWithAuthorization
// the page carries, with the amount typed in Rupiah filled in (wallet.js does the signing).
(function () {
  "use strict";
  var form = document.getElementById("redeem-form");
  var holder = document.getElementById("typed-data");
  var errorBox = document.getElementById("wallet-error");
  if (!form || !holder || !errorBox || form.dataset.wallet !== "own" || !window.MscWallet) {
    return;
  }
  window.MscWallet.signOnSubmit({
    form: form,
    holder: holder,
    errorBox: errorBox,
    amount: function (f) {
      return window.MscWallet.sen(f.elements.amount.value);
    },
    fill: function (typed, amount) {
      typed.message.value = amount;
      return typed.message.from;
    },
    fields: function (typed) {
      return {
        nonce: typed.message.nonce,
        valid_after: typed.message.validAfter,
        valid_before: typed.message.validBefore,
      };
    },
  });
})();
