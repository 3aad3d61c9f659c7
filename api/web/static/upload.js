// Resumable upload (tus 1.0 semantics) over hoso's API: 4 MiB chunks, retried from the server's
// offset after a dropped connection, resumed after a page reload when the same file is chosen again.
(function () {
  "use strict";
  var CHUNK = 4 * 1024 * 1024;
  var form = document.getElementById("tai-len");
  var fileInput = document.getElementById("file");
  var drop = document.getElementById("drop");
  var csrf = form.dataset.csrf;
  var statusEl = document.getElementById("status");
  var bar = document.getElementById("progress");
  var dropped = null;

  function headers(extra) {
    var h = { "X-CSRF-Token": csrf };
    for (var k in extra) { h[k] = extra[k]; }
    return h;
  }
  function show(text) { statusEl.textContent = text; }
  function clearErrors() {
    document.querySelectorAll(".field-error").forEach(function (e) { e.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach(function (e) { e.removeAttribute("aria-invalid"); });
  }
  function fieldError(name, message) {
    var slot = document.getElementById("loi-" + name) || document.getElementById("loi-file");
    slot.textContent = message;
    var input = document.getElementById(name);
    if (input) { input.setAttribute("aria-invalid", "true"); }
  }
  function key(file) { return "hoso-upload:" + file.name + ":" + file.size + ":" + file.lastModified; }
  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }
  function human(seconds) {
    if (!isFinite(seconds)) { return "…"; }
    var m = Math.floor(seconds / 60), s = Math.round(seconds % 60);
    return m ? hosoT("%(m)s phút %(s)s giây", { m: m, s: s }) : hosoT("%(s)s giây", { s: s });
  }

  drop.addEventListener("dragover", function (e) { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", function () { drop.classList.remove("over"); });
  drop.addEventListener("drop", function (e) {
    e.preventDefault(); drop.classList.remove("over");
    dropped = e.dataTransfer.files[0] || null;
    if (dropped) { drop.textContent = dropped.name; }
  });

  function metadata() {
    var m = {};
    ["school_code", "record_type", "title", "school_year", "subject", "class_name"].forEach(function (n) {
      var v = document.getElementById(n).value.trim();
      if (v) { m[n] = v; }
    });
    ["month", "grade"].forEach(function (n) {
      var v = document.getElementById(n).value.trim();
      if (v) { m[n] = /^\d+$/.test(v) ? Number(v) : v; }
    });
    return m;
  }

  async function offsetOf(id) {
    var r = await fetch("/api/v1/uploads/" + id, { headers: headers({}) });
    if (!r.ok) { return null; }
    return (await r.json());
  }

  async function send(file) {
    var stored = localStorage.getItem(key(file)), upload = null;
    if (stored) {
      upload = await offsetOf(stored);
      if (!upload || upload.state !== "open") { upload = null; localStorage.removeItem(key(file)); }
      else { show(hosoT("Tiếp tục tải lên từ %(p)s%…", { p: Math.round(100 * upload.offset / file.size) })); }
    }
    if (!upload) {
      var r = await fetch("/api/v1/uploads", {
        method: "POST",
        headers: headers({ "Content-Type": "application/json" }),
        body: JSON.stringify({ metadata: metadata(), filename: file.name, size: file.size })
      });
      var body = await r.json();
      if (!r.ok) {
        var errors = (body.detail && body.detail.errors) || [];
        if (errors.length) {
          errors.forEach(function (e) { fieldError(String(e.loc[e.loc.length - 1]), hosoLang() === "en" ? e.msg : e.message); });
        } else { fieldError(r.status === 413 ? "file" : "record_type", hosoProblem(body)); }
        return null;
      }
      upload = body;
      localStorage.setItem(key(file), upload.id);
    }
    var offset = upload.offset, started = Date.now(), startOffset = offset, failures = 0;
    document.getElementById("tien-do").hidden = false;
    while (offset < file.size) {
      var chunk = file.slice(offset, Math.min(offset + CHUNK, file.size));
      try {
        var p = await fetch("/api/v1/uploads/" + upload.id, {
          method: "PATCH",
          headers: headers({ "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream" }),
          body: chunk
        });
        if (p.status === 409) { var now = await offsetOf(upload.id); offset = now ? now.offset : offset; continue; }
        var state = await p.json();
        if (!p.ok) { fieldError("file", hosoProblem(state)); return null; }
        offset = state.offset; failures = 0;
        if (state.state === "done") { localStorage.removeItem(key(file)); return state; }
      } catch (err) {
        failures += 1;
        show(hosoT("Mất kết nối, đang thử lại… (lần %(n)s)", { n: failures }));
        await sleep(Math.min(30000, 500 * Math.pow(2, failures)));
        var again = await offsetOf(upload.id).catch(function () { return null; });
        if (again) { offset = again.offset; }
        continue;
      }
      var elapsed = (Date.now() - started) / 1000, sent = offset - startOffset;
      var speed = sent / Math.max(elapsed, 0.001);
      bar.value = Math.round(100 * offset / file.size);
      show(hosoT("%(p)s% — %(speed)s MB/s — còn khoảng %(left)s", {
        p: bar.value, speed: (speed / 1024 / 1024).toFixed(1), left: human((file.size - offset) / speed),
      }));
    }
    return await offsetOf(upload.id);
  }

  form.addEventListener("submit", async function (e) {
    e.preventDefault();
    clearErrors();
    var file = dropped || fileInput.files[0];
    if (!file) { fieldError("file", hosoT("Hãy chọn tệp để tải lên.")); return; }
    var done = await send(file);
    if (done && done.record_id) {
      bar.value = 100;
      show(hosoT("Đã tải lên xong."));
      window.location.href = "/ho-so/" + done.record_id;
    }
  });
})();
