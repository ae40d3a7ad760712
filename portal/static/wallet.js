// What the money and refund pages share for merchants with their own wallet: the browser wallet
// (EIP-1193, e.g. MetaMask) signs the EIP-712 typed data the page carries (data-typed) once the
// amount is filled in, and the signature and its fields go into the form's hidden inputs before it
// is posted; the server checks them before anything is recorded. Custodial merchants never load it.
(function () {
  "use strict";

  // Sen of a whole-Rupiah amount as the server reads it ("25.000", "25 000", "Rp 25000"); null if not one.
  function sen(text) {
    var cleaned = text.trim().replace(/^[Rr]p/, "").replace(/[\s.]/g, "");
    if (!/^[0-9]{1,13}$/.test(cleaned)) {
      return null;
    }
    var value = Number(cleaned) * 100;
    return Number.isSafeInteger(value) && value > 0 ? value : null;
  }

  // options: form, holder (element with data-typed), errorBox (data-no-wallet, data-refused),
  // amount(form) -> sen or null, fill(typed, amount) -> the signer's address, and
  // fields(typed) -> {input name: value} to post with the signature.
  function signOnSubmit(options) {
    var form = options.form;
    var errorBox = options.errorBox;

    function show(text) {
      errorBox.textContent = text;
      errorBox.classList.remove("hidden");
    }

    form.addEventListener("submit", function (event) {
      if (form.elements.signature.value) {
        return; // signed already: let the form go
      }
      var amount = options.amount(form);
      if (amount === null || !Number.isSafeInteger(amount) || amount <= 0 || !options.holder.dataset.typed) {
        return; // the server explains what is wrong with the amount
      }
      event.preventDefault();
      var wallet = window.ethereum;
      if (!wallet || typeof wallet.request !== "function") {
        show(errorBox.dataset.noWallet);
        return;
      }
      var typed = JSON.parse(options.holder.dataset.typed);
      var signer = options.fill(typed, amount);
      wallet
        .request({ method: "eth_requestAccounts" })
        .then(function () {
          return wallet.request({ method: "eth_signTypedData_v4", params: [signer, JSON.stringify(typed)] });
        })
        .then(
          function (signature) {
            var fields = options.fields(typed);
            form.elements.signature.value = signature;
            Object.keys(fields).forEach(function (name) {
              form.elements[name].value = String(fields[name]);
            });
            form.submit();
          },
          function () {
            show(errorBox.dataset.refused);
          }
        );
    });
  }

  window.MscWallet = { sen: sen, signOnSubmit: signOnSubmit };
})();
