// Refund page, own-wallet merchants: the browser wallet (EIP-1193, e.g. MetaMask) signs the
// escrow's RefundAuthorization the page carries (data-typed), with the amount filled in (the whole
// refundable amount, data-max, or the part typed in Rupiah); the signature and its fields are then
// posted with the form, and the server checks them before anything is recorded. Custodial merchants
// never load it.
(function () {
  "use strict";
  var form = document.getElementById("refund-form");
  var holder = document.getElementById("refund-typed");
  var errorBox = document.getElementById("refund-wallet-error");
  if (!form || !holder || !errorBox || form.dataset.wallet !== "own") {
    return;
  }

  function show(text) {
    errorBox.textContent = text;
    errorBox.classList.remove("hidden");
  }

  // Sen of a whole-Rupiah amount as the server reads it ("25.000", "25 000", "Rp 25000"); null if not one.
  function sen(text) {
    var cleaned = text.trim().replace(/^[Rr]p/, "").replace(/[\s.]/g, "");
    if (!/^[0-9]{1,13}$/.test(cleaned)) {
      return null;
    }
    var value = Number(cleaned) * 100;
    return Number.isSafeInteger(value) && value > 0 ? value : null;
  }

  form.addEventListener("submit", function (event) {
    if (form.elements.signature.value) {
      return; // signed already: let the form go
    }
    var full = form.elements.kind.value === "full";
    var amount = full ? Number(form.dataset.max) : sen(form.elements.amount.value);
    if (amount === null || !Number.isSafeInteger(amount) || amount <= 0) {
      return; // the server explains what is wrong with the amount
    }
    event.preventDefault();
    var wallet = window.ethereum;
    if (!wallet || typeof wallet.request !== "function") {
      show(errorBox.dataset.noWallet);
      return;
    }
    var typed = JSON.parse(holder.dataset.typed);
    typed.message.amount = amount;
    wallet
      .request({ method: "eth_requestAccounts" })
      .then(function () {
        return wallet.request({
          method: "eth_signTypedData_v4",
          params: [form.dataset.signer, JSON.stringify(typed)],
        });
      })
      .then(
        function (signature) {
          form.elements.signature.value = signature;
          form.elements.nonce.value = typed.message.nonce;
          form.elements.valid_before.value = String(typed.message.validBefore);
          form.submit();
        },
        function () {
          show(errorBox.dataset.refused);
        }
      );
  });
})();
