// The approval page: "Chọn duyệt tất cả còn lại" marks every item not yet decided as approved.
// A static file rather than an onclick attribute, so the page passes a CSP without 'unsafe-inline'.
(function () {
  "use strict";
  document.querySelectorAll("button[data-approve-rest]").forEach(function (button) {
    button.addEventListener("click", function () {
      var form = button.form;
      form.querySelectorAll("input[value=approved]").forEach(function (radio) {
        if (!form.querySelector("input[name='" + radio.name + "']:checked")) radio.checked = true;
      });
    });
  });
})();
