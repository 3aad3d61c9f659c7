// A new version of one's own record (a returned plan corrected): posted to the API with the page's
// CSRF token; the page reloads to show it, then "Nộp duyệt" resubmits it.
(function () {
  "use strict";
  var form = document.getElementById("phien-ban-moi");
  var input = document.getElementById("new-version");
  var error = document.getElementById("loi-new-version");
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    error.textContent = ""; input.removeAttribute("aria-invalid");
    if (!input.files.length) { error.textContent = hosoT("Chọn tệp phiên bản mới."); input.setAttribute("aria-invalid", "true"); return; }
    var body = new FormData();
    body.append("file", input.files[0]);
    var button = form.querySelector("button");
    button.disabled = true;
    try {
      var response = await fetch("/api/v1/records/" + form.dataset.record + "/versions", {
        method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": form.dataset.csrf }, body: body,
      });
      if (!response.ok) {
        var problem = await response.json().catch(function () { return {}; });
        throw new Error(hosoProblem(problem) || ("HTTP " + response.status));
      }
      window.location.reload();
    } catch (e) {
      error.textContent = e instanceof TypeError ? hosoT("Mất kết nối; hãy thử lại.") : e.message;
      input.setAttribute("aria-invalid", "true");
      button.disabled = false;
    }
  });
})();
