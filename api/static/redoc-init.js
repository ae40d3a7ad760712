// Starts ReDoc on /redoc. A file, not an inline script: the Content-Security-Policy allows scripts
// from this origin only. It runs before ReDoc's bundle and starts ReDoc once the page is parsed.
//
// Styles: the page's policy is `style-src 'self' 'nonce-…'` with a fresh nonce per answer, which
// this script gets from its own nonce attribute (the browser exposes it only as the element's
// `nonce` property, never to CSS selectors). ReDoc hands the nonce to styled-components (the
// `nonce` option sets webpack's `__webpack_require__.nc`), but the bundle also inserts one
// stylesheet (perfect-scrollbar's) while it loads, before any option is read; so every <style>
// element created through document.createElement on this page gets the nonce. Injected markup
// (`<style>` in the HTML) has no nonce and is still refused; scripts are untouched.
//
// Search is off: ReDoc runs it in a Worker built from a blob: URL, which `script-src 'self'`
// refuses (and should).
(function () {
  "use strict";
  var nonce = document.currentScript.nonce;
  var createElement = document.createElement;
  document.createElement = function (tagName, options) {
    var element = createElement.call(document, tagName, options);
    if (String(tagName).toLowerCase() === "style") {
      element.setAttribute("nonce", nonce);
    }
    return element;
  };
  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("redoc");
    Redoc.init(root.dataset.openapiUrl, { nonce: nonce, disableSearch: true }, root, function (error) {
      if (error) {
        console.error("ReDoc could not render the API description", error);
      }
    });
  });
})();
