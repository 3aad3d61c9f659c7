// Download an evidence package with a progress bar, then check its SHA-256 against the one the
// server sealed (when the browser offers Web Crypto), before handing the file to the person.
(function () {
  "use strict";
  var MB = 1048576;
  async function sha256hex(blob) {
    if (!(window.crypto && crypto.subtle)) { return null; }
    var digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
    return Array.from(new Uint8Array(digest)).map(function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }
  async function download(button) {
    var box = document.getElementById(button.getAttribute("aria-describedby"));
    var bar = box.querySelector("progress"), say = box.querySelector("p");
    box.hidden = false; button.disabled = true;
    try {
      var response = await fetch(button.dataset.url, { credentials: "same-origin" });
      if (!response.ok) {
        var problem = await response.json().catch(function () { return {}; });
        throw new Error(hosoProblem(problem) || ("HTTP " + response.status));
      }
      var total = Number(response.headers.get("Content-Length") || button.dataset.size);
      var reader = response.body.getReader(), parts = [], got = 0, started = Date.now();
      for (;;) {
        var step = await reader.read();
        if (step.done) { break; }
        parts.push(step.value); got += step.value.length;
        bar.value = total ? Math.round(100 * got / total) : 0;
        var speed = got / Math.max((Date.now() - started) / 1000, 0.001);
        say.textContent = hosoT("Đã tải %(got)s / %(total)s MB (%(speed)s MB/giây)", {
          got: (got / MB).toFixed(1), total: (total / MB).toFixed(1), speed: (speed / MB).toFixed(1),
        });
      }
      var blob = new Blob(parts, { type: "application/zip" });
      var hash = await sha256hex(blob);
      if (hash && hash !== button.dataset.sha256) { throw new Error(hosoT("mã SHA-256 không khớp; hãy tải lại")); }
      var link = document.createElement("a");
      link.href = URL.createObjectURL(blob); link.download = button.dataset.name;
      document.body.appendChild(link); link.click(); link.remove();
      var mb = { mb: (got / MB).toFixed(1) };
      say.textContent = hash ? hosoT("✔ Đã tải xong %(mb)s MB; SHA-256 khớp với gói đã niêm phong.", mb)
        : hosoT("✔ Đã tải xong %(mb)s MB.", mb);
      say.className = "ok";
    } catch (e) {
      say.textContent = hosoT("Không tải được: %(why)s", { why: e.message }); say.className = "error";
    } finally { button.disabled = false; }
  }
  // The package just asked for (the page was opened as /goi-chung-cu?tai=ID) downloads by itself once
  // it is built: an inspector who ticked the records and pressed "Xuất" need not press again. Once
  // per package in this tab (sessionStorage), so a reload does not download it twice.
  function fetchWhenReady() {
    var b = document.querySelector("button.download[data-auto]");
    if (!b || b.disabled) { return; }
    var mark = "hoso-tai-" + b.dataset.url;
    try { if (sessionStorage.getItem(mark)) { return; } sessionStorage.setItem(mark, "1"); } catch (e) { /* no storage */ }
    download(b);
  }
  fetchWhenReady();
  new MutationObserver(fetchWhenReady).observe(document.getElementById("noi-dung") || document.body, { childList: true, subtree: true });
  // delegated: the list is replaced in place while a package is being built (ui.js data-refresh)
  document.addEventListener("click", function (e) {
    var b = e.target.closest && e.target.closest("button.download");
    if (b) { download(b); }
  });
})();
