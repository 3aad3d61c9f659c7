// The pages' scripts speak the page's language: Vietnamese text is the message id, and on an English
// page the server embeds the catalogue (#hoso-i18n). "%(name)s" placeholders are filled from `values`.
(function () {
  "use strict";
  var catalogue = null;
  function load() {
    if (catalogue === null) {
      var el = document.getElementById("hoso-i18n");
      catalogue = el ? JSON.parse(el.textContent) : {};
    }
    return catalogue;
  }
  window.hosoLang = function () { return document.documentElement.lang || "vi"; };
  window.hosoT = function (text, values) {
    var s = (hosoLang() === "en" && load()[text]) || text;
    for (var k in values || {}) { s = s.split("%(" + k + ")s").join(String(values[k])); }
    return s;
  };
  // an API problem ({message, message_en}) in the page's language
  window.hosoProblem = function (problem) {
    return (hosoLang() === "en" && problem.message_en) || problem.message;
  };
})();
