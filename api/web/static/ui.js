// The header's menu button on a phone: the menu is shown by default (a page without scripts keeps
// every link, wrapped); with this script the phone shows one line and the button opens the rest.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var button = document.querySelector(".menu-button");
  if (!button) { return; }
  var menu = document.getElementById(button.getAttribute("aria-controls"));
  button.addEventListener("click", function () {
    var open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    menu.classList.toggle("open", open);
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && button.getAttribute("aria-expanded") === "true") { button.click(); button.focus(); }
  });
})();
// A page still at work (a package being built, a batch being signed) says so with data-refresh="N"
// on an element: the page's main content is fetched again every N seconds and replaced in place,
// inside an aria-live region, so a screen reader hears the change without the page reloading.
(function () {
  "use strict";
  var marked = document.querySelector("[data-refresh]");
  if (!marked) { return; }
  var main = document.getElementById("noi-dung");
  main.setAttribute("aria-live", "polite");
  function again(seconds) {
    setTimeout(async function () {
      try {
        var response = await fetch(location.href, { credentials: "same-origin" });
        var fresh = new DOMParser().parseFromString(await response.text(), "text/html").getElementById("noi-dung");
        if (!fresh) { return again(seconds * 2); }
        main.innerHTML = fresh.innerHTML;
        var next = main.querySelector("[data-refresh]");
        if (next) { again(Number(next.dataset.refresh) || seconds); }
        else { document.dispatchEvent(new Event("hoso:refreshed")); }
      } catch (e) { again(seconds * 2); }
    }, seconds * 1000);
  }
  again(Number(marked.dataset.refresh) || 3);
})();
// Logging out leaves nothing of this person's work in the browser: the unsaved review choices
// (approval.js keeps them in localStorage, per person and batch) go with the session.
(function () {
  "use strict";
  var out = document.querySelector("form[action='/dang-xuat']");
  if (!out) { return; }
  out.addEventListener("submit", function () {
    try {
      Object.keys(localStorage).filter(function (k) { return k.indexOf("hoso-duyet-") === 0; })
        .forEach(function (k) { localStorage.removeItem(k); });
    } catch (e) { /* storage unavailable: nothing was kept */ }
  });
})();
