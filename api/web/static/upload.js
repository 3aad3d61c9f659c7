// Many files at once (issue #15): picked or dropped together, the shared metadata chosen once, a
// title per file from its name, then each file sent over hoso's resumable API (tus 1.0 semantics),
// one after the other, with "?submit=true" on its last chunk for "Tải lên và nộp duyệt" (the record
// and its submission commit together, flows/intake.py). Type and size are checked here against the
// record type's own data before a byte is sent (the server checks the bytes again).
//
// Weak school internet: progress in bytes and seconds from the first second (XHR upload progress
// inside a chunk), a chunk size that follows the measured speed (~7 s a chunk, 1–32 MiB; the server
// takes any size up to 64 MiB), retries from the server's offset after a dropped connection, at
// once when the phone wakes or the network comes back, and after a reload when the same file is
// chosen again (the upload's id is kept in localStorage).
//
// Photos of one paper document (issue #16): when two or more JPEG/PNG/TIFF photos are chosen, a box
// offers to make them one document. Then they go in one multipart request (`file` once per page, in
// the list's order, which "Lên trước" changes) with an Idempotency-Key kept across retries, so a lost
// answer never makes the document twice; the server puts each photo on its own A4 page unchanged.
// A scan kept below TT 05/2025 Điều 8 (its record type warns rather than refuses) gets the answer's
// `scan_warnings` under its row, in the words the record page uses.
(function () {
  "use strict";
  var MiB = 1024 * 1024, MIN_CHUNK = MiB, MAX_CHUNK = 32 * MiB, TARGET_SECONDS = 7, STALLED_MS = 5000;
  var form = document.getElementById("tai-len");
  var input = document.getElementById("file");
  var drop = document.getElementById("drop");
  var list = document.getElementById("tep");
  var typeSelect = document.getElementById("record_type");
  var statusEl = document.getElementById("status");
  var submitButton = document.getElementById("gui-nop");
  var controls = [submitButton, document.getElementById("gui"), input];
  var csrf = form.dataset.csrf, maxBytes = Number(form.dataset.maxBytes);
  var items = [], serial = 0, sending = false;
  var setBox = document.getElementById("ghep"), combine = document.getElementById("ghep-anh");
  var PHOTO = /\.(jpe?g|png|tiff?)$/i, PHOTO_TYPES = ["image/jpeg", "image/png", "image/tiff"];
  var waker = null, hurry = false, inFlight = null, lastProgress = 0;

  function key(file) { return "hoso-upload:" + file.name + ":" + file.size + ":" + file.lastModified; }
  function mb(bytes) { return (bytes / MiB).toFixed(1); }
  function size(bytes) {
    return bytes < MiB ? hosoT("%(kb)s KB", { kb: Math.max(1, Math.round(bytes / 1024)) }) : hosoT("%(mb)s MB", { mb: mb(bytes) });
  }
  function human(seconds) {
    if (!isFinite(seconds)) { return "…"; }
    var m = Math.floor(seconds / 60), s = Math.round(seconds % 60);
    return m ? hosoT("%(m)s phút %(s)s giây", { m: m, s: s }) : hosoT("%(s)s giây", { s: s });
  }
  function titleOf(name) {
    var base = name.replace(/\.[^.]+$/, "").replace(/_+/g, " ");
    if (base.indexOf(" ") < 0) { base = base.replace(/-+/g, " "); }  // "ke-hoach-toan-5" → words
    return base.replace(/\s+/g, " ").trim();
  }
  function chosenType() { return typeSelect.options[typeSelect.selectedIndex]; }
  function show(text) { statusEl.textContent = text; }

  // -- the shared metadata and its errors ---------------------------------------------------------
  function shared() {
    var m = {};
    ["school_code", "record_type", "school_year", "subject"].forEach(function (n) {
      var v = document.getElementById(n).value;
      if (v) { m[n] = v; }
    });
    ["month", "grade"].forEach(function (n) {
      var v = document.getElementById(n).value;
      if (v) { m[n] = Number(v); }
    });
    return m;
  }
  function sharedError(name, message) {
    var slot = document.getElementById("loi-" + name) || document.getElementById("loi-file");
    slot.textContent = message;
    var control = document.getElementById(name);
    if (control) { control.setAttribute("aria-invalid", "true"); control.focus(); }
  }
  function clearErrors() {
    form.querySelectorAll(".field-error").forEach(function (e) { e.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach(function (e) { e.removeAttribute("aria-invalid"); });
  }

  // -- the list of files ----------------------------------------------------------------------------
  function rowError(item, message) {
    item.error.textContent = message;
    if (message) { item.title.setAttribute("aria-invalid", "true"); } else { item.title.removeAttribute("aria-invalid"); }
  }
  function refusal(file) {
    var option = chosenType(), ext = (file.name.match(/\.[^.]+$/) || [""])[0].toLowerCase();
    if (file.size === 0) { return hosoT("Tệp rỗng (0 byte); hãy chọn đúng tệp."); }
    if (file.size > maxBytes) {
      return hosoT("Tệp %(size)s MB, quá giới hạn %(max)s MB mỗi tệp; hãy nén hoặc cắt nhỏ.", { size: mb(file.size), max: form.dataset.maxMb });
    }
    var accepted = option.dataset.accept.split(","), types = option.dataset.mediaTypes.split(" ");
    if (accepted.indexOf(ext) < 0 && types.indexOf(file.type) < 0) {
      return hosoT("%(type)s chỉ nhận %(labels)s; hãy bỏ tệp này hoặc chọn loại hồ sơ khác.", { type: option.text, labels: option.dataset.labels });
    }
    return "";
  }
  function recheck() {
    var option = chosenType();
    input.accept = option.dataset.accept;
    document.getElementById("file-types").textContent = option.dataset.labels;
    submitButton.hidden = !option.dataset.signed;
    document.getElementById("khong-ky").hidden = Boolean(option.dataset.signed);
    items.forEach(function (item) { if (item.state !== "done") { rowError(item, refusal(item.file)); } });
  }
  function addFiles(files) {
    Array.prototype.forEach.call(files, function (file) {
      if (items.some(function (i) { return key(i.file) === key(file); })) { return; }
      var n = serial++, row = document.getElementById("tep-mau").content.firstElementChild.cloneNode(true);
      var item = {
        file: file, row: row, state: "waiting",
        title: row.querySelector("input.title"), error: row.querySelector(".field-error"),
        bar: row.querySelector("progress"), status: row.querySelector(".file-status"),
      };
      item.title.id = "title-" + n;
      item.title.value = titleOf(file.name);
      item.error.id = "loi-title-" + n;
      item.status.id = "trang-thai-" + n;
      row.querySelector(".title-label").htmlFor = item.title.id;
      row.querySelector(".file-name").id = "ten-tep-" + n;
      row.querySelector(".file-name").textContent = hosoT("Tệp: %(name)s (%(size)s)", { name: file.name, size: size(file.size) });
      item.title.setAttribute("aria-describedby", "ten-tep-" + n + " loi-title-" + n + " trang-thai-" + n);
      row.querySelector(".remove").addEventListener("click", function () {
        if (sending) { return; }
        items.splice(items.indexOf(item), 1);
        row.remove();
        paintSet();
        drop.focus();
      });
      row.querySelector(".up").addEventListener("click", function () {
        var at = items.indexOf(item);
        if (sending || at < 1) { return; }
        items.splice(at, 1); items.splice(at - 1, 0, item);
        list.insertBefore(row, items[at].row);
        paintSet();
        (at - 1 > 0 ? row.querySelector(".up") : item.title).focus();
      });
      items.push(item);
      list.appendChild(row);
      rowError(item, refusal(file));
    });
    document.getElementById("loi-file").textContent = "";
    paintSet();
  }

  // -- photos of one paper document ---------------------------------------------------------------
  function isPhoto(item) {
    return item.state !== "done" && (PHOTO_TYPES.indexOf(item.file.type) >= 0 || PHOTO.test(item.file.name));
  }
  function photoSet() {
    var set = items.filter(isPhoto);
    return set.length >= 2 && combine.checked ? set : [];
  }
  function paintSet() {
    var photos = items.filter(isPhoto), set = photoSet();
    setBox.hidden = photos.length < 2;
    items.forEach(function (item) {
      if (item.state === "done") { return; }
      var page = set.indexOf(item), label = item.row.querySelector(".title-label"), name = item.row.querySelector(".file-name");
      var inSet = page >= 0, follower = page > 0;
      item.title.hidden = follower; label.hidden = follower;
      item.row.querySelector(".up").hidden = !inSet || page === 0;
      item.row.querySelector(".up").setAttribute("aria-label", hosoT("Đưa %(name)s lên trước", { name: item.file.name }));
      name.textContent = (inSet ? hosoT("Trang %(n)s: ", { n: page + 1 }) : "") +
        hosoT("Tệp: %(name)s (%(size)s)", { name: item.file.name, size: size(item.file.size) });
    });
  }
  combine.addEventListener("change", paintSet);

  async function sendSet(set, meta, andSubmit) {
    var first = set[0], body = new FormData(), failures = 0, key = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
    body.append("metadata", JSON.stringify(Object.assign({}, meta, { title: first.title.value.trim() })));
    set.forEach(function (item) { body.append("file", item.file, item.file.name); });
    var total = set.reduce(function (n, item) { return n + item.file.size; }, 0);
    first.bar.hidden = false;
    for (;;) {
      try {
        var r = await request("POST", "/api/v1/records" + (andSubmit ? "?submit=true" : ""), body, { "Idempotency-Key": key },
          function (loaded) {
            first.bar.value = Math.round(100 * loaded / total);
            first.status.textContent = hosoT("Đã gửi %(sent)s / %(total)s MB", { sent: mb(loaded), total: mb(total) });
          });
      } catch (lost) {
        failures += 1;
        first.status.textContent = hosoT("Mất kết nối, đang thử lại… (lần %(n)s)", { n: failures });
        if (failures > 8) { rowError(first, hosoT("Mất kết nối; hãy thử lại.")); return { stop: false }; }
        if (!hurry) { await nap(Math.min(30000, 500 * Math.pow(2, failures))); }
        hurry = false;
        continue;
      }
      first.bar.hidden = true;
      if (r.status === 201 || r.status === 200) { return { record_id: r.body.id, scan_warnings: r.body.scan_warnings }; }
      return { stop: refused(first, r) };
    }
  }

  drop.addEventListener("click", function () { if (!sending) { input.click(); } });
  drop.addEventListener("keydown", function (e) {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); if (!sending) { input.click(); } }
  });
  drop.addEventListener("dragover", function (e) { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", function () { drop.classList.remove("over"); });
  drop.addEventListener("drop", function (e) {
    e.preventDefault(); drop.classList.remove("over");
    if (!sending) { addFiles(e.dataTransfer.files); }
  });
  input.addEventListener("change", function () { addFiles(input.files); });
  typeSelect.addEventListener("change", recheck);
  recheck();

  // -- sending ------------------------------------------------------------------------------------
  function nap(ms) {  // a backoff that the phone waking up or the network coming back cuts short
    return new Promise(function (resolve) {
      var timer = setTimeout(done, ms);
      function done() { clearTimeout(timer); waker = null; resolve(); }
      waker = done;
    });
  }
  function resume() {
    hurry = true;
    if (waker) { waker(); }
    if (inFlight && Date.now() - lastProgress > STALLED_MS) { inFlight.abort(); }  // left hanging by the sleep
  }
  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "visible") { resume(); } });
  window.addEventListener("online", resume);

  function request(method, url, body, headers, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      for (var k in headers || {}) { xhr.setRequestHeader(k, headers[k]); }
      if (onProgress) {
        xhr.upload.onprogress = function (e) { lastProgress = Date.now(); onProgress(e.loaded); };
      }
      xhr.onload = function () {
        var parsed = {};
        try { parsed = JSON.parse(xhr.responseText || "{}"); } catch (ignored) { parsed = {}; }
        resolve({ status: xhr.status, body: parsed });
      };
      xhr.onerror = xhr.onabort = xhr.ontimeout = function () { reject(new Error("network")); };
      inFlight = xhr; lastProgress = Date.now();
      xhr.send(body);
    }).finally(function () { inFlight = null; });
  }
  async function uploadState(id) {
    var r = await request("GET", "/api/v1/uploads/" + id, null);
    return r.status === 200 ? r.body : null;
  }
  function nextChunk(previous, bytes, seconds) {
    var rate = bytes / Math.max(seconds, 0.05), step = 256 * 1024;
    var wanted = Math.round(rate * TARGET_SECONDS / step) * step;
    return Math.min(MAX_CHUNK, 4 * previous, Math.max(MIN_CHUNK, wanted));
  }

  function refused(item, r) {  // the server's refusal said where it belongs; true when no other file can go either
    var errors = (r.body.detail && r.body.detail.errors) || [];
    var mine = errors.filter(function (e) { return e.loc[e.loc.length - 1] === "title"; });
    errors.filter(function (e) { return mine.indexOf(e) < 0; }).forEach(function (e) {
      sharedError(String(e.loc[e.loc.length - 1]), hosoLang() === "en" ? e.msg : e.message);
    });
    if (mine.length) { rowError(item, hosoLang() === "en" ? mine[0].msg : mine[0].message); }
    else if (!errors.length) {
      if (r.status === 403 || r.status === 404) { sharedError("school_code", hosoProblem(r.body)); }
      else { rowError(item, hosoProblem(r.body)); }
    }
    return errors.length > mine.length || r.status === 403 || r.status === 404;
  }

  async function start(item, meta) {
    var stored = localStorage.getItem(key(item.file));
    if (stored) {
      var known = await uploadState(stored).catch(function () { return null; });
      if (known && (known.state === "open" || known.state === "done")) { return known; }
      localStorage.removeItem(key(item.file));
    }
    var r = await request("POST", "/api/v1/uploads", JSON.stringify({ metadata: meta, filename: item.file.name, size: item.file.size }),
      { "Content-Type": "application/json" });
    if (r.status !== 201) { return { stop: refused(item, r) }; }
    localStorage.setItem(key(item.file), r.body.id);
    return r.body;
  }

  async function send(item, meta, andSubmit) {
    var file = item.file, upload = await start(item, meta);
    if (!upload.id) { return upload; }
    var offset = upload.offset, sent = offset, base = offset, started = Date.now(), chunk = MIN_CHUNK, failures = 0;
    item.bar.hidden = false;
    function paint() {
      var seconds = (Date.now() - started) / 1000, speed = (sent - base) / Math.max(seconds, 0.001);
      item.bar.value = Math.round(100 * sent / file.size);
      var text = hosoT("Đã gửi %(sent)s / %(total)s MB · %(s)s giây · %(speed)s MB/s · còn khoảng %(left)s", {
        sent: mb(sent), total: mb(file.size), s: Math.floor(seconds), speed: (speed / MiB).toFixed(2),
        left: speed > 0 ? human((file.size - sent) / speed) : "…",
      });
      item.status.textContent = text; show(item.title.value + ": " + text);
    }
    var ticker = setInterval(paint, 1000);
    paint();
    try {
      while (upload.state !== "done") {
        var end = Math.min(offset + chunk, file.size), last = end === file.size, from = offset, t0 = Date.now();
        try {
          var r = await request("PATCH", "/api/v1/uploads/" + upload.id + (last && andSubmit ? "?submit=true" : ""),
            file.slice(offset, end), { "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream" },
            function (loaded) { sent = from + loaded; });
        } catch (lost) {
          failures += 1;
          var text = hosoT("Mất kết nối, đang thử lại… (lần %(n)s)", { n: failures });
          item.status.textContent = text; show(item.title.value + ": " + text);
          if (!hurry) { await nap(Math.min(30000, 500 * Math.pow(2, failures))); }
          hurry = false;
          var now = await uploadState(upload.id).catch(function () { return null; });
          if (now) { upload = now; offset = sent = now.offset; }
          chunk = Math.max(MIN_CHUNK, Math.floor(chunk / 2));
          continue;
        }
        if (r.status === 409 && r.body.detail && typeof r.body.detail.offset === "number") {
          offset = sent = r.body.detail.offset; continue;
        }
        if (r.status !== 200) { rowError(item, hosoProblem(r.body)); return { stop: false }; }
        chunk = nextChunk(chunk, end - from, (Date.now() - t0) / 1000);
        upload = r.body; offset = sent = upload.offset; failures = 0;
        paint();
      }
    } finally {
      clearInterval(ticker);
    }
    localStorage.removeItem(key(file));
    return upload;
  }

  function finished(item, done, andSubmit) {
    item.state = "done";
    item.bar.hidden = true;
    item.title.readOnly = true;
    item.row.querySelector(".remove").hidden = true;
    item.row.querySelector(".up").hidden = true;
    var badge = document.createElement("span"), link = document.createElement("a");
    badge.className = "badge badge-" + (andSubmit ? "submitted" : "draft");
    badge.textContent = andSubmit ? hosoT("Đã nộp") : hosoT("Bản nháp");
    link.href = "/ho-so/" + done.record_id;
    link.textContent = item.title.value;
    item.status.textContent = "";
    item.status.append(badge, " ", link);
    (done.scan_warnings || []).forEach(function (w) {  // kept, but below TT 05/2025: said where the uploader looks
      var note = document.createElement("p");
      note.className = "scan-warning";
      note.textContent = hosoT("Chưa đạt chuẩn số hóa:") + " " + (hosoLang() === "en" ? w.message_en : w.message) + ".";
      item.row.appendChild(note);
    });
  }

  form.addEventListener("submit", async function (e) {
    e.preventDefault();
    if (sending) { return; }
    clearErrors();
    var andSubmit = e.submitter ? e.submitter === submitButton && !submitButton.hidden : !submitButton.hidden;
    var todo = items.filter(function (i) { return i.state !== "done"; });
    if (!todo.length) { sharedError("file", hosoT("Hãy chọn hoặc kéo thả ít nhất một tệp.")); drop.focus(); return; }
    var ready = todo.filter(function (item) {
      var message = refusal(item.file) || (item.title.value.trim() ? "" : hosoT("Tên hồ sơ đang bị thiếu; hãy nhập tên."));
      rowError(item, message);
      return !message;
    });
    if (!ready.length) { (todo[0].error.textContent ? todo[0].title : drop).focus(); return; }
    sending = true;
    controls.forEach(function (c) { c.disabled = true; });
    drop.setAttribute("aria-disabled", "true");
    var meta = shared(), uploaded = 0, set = photoSet().filter(function (item) { return ready.indexOf(item) >= 0; });
    try {
      if (set.length >= 2) {
        var made = await sendSet(set, meta, andSubmit);
        if (made.record_id) {
          set.forEach(function (item, n) {  // one document: its warning once, under its first page
            item.title.value = set[0].title.value;
            finished(item, n ? { record_id: made.record_id } : made, andSubmit);
          });
          uploaded += 1;
        }
        ready = made.stop ? [] : ready.filter(function (item) { return set.indexOf(item) < 0; });
      }
      for (var i = 0; i < ready.length; i++) {
        var item = ready[i], done;
        try {
          done = await send(item, Object.assign({}, meta, { title: item.title.value.trim() }), andSubmit);
        } catch (err) {
          rowError(item, hosoT("Mất kết nối; hãy thử lại.")); continue;
        }
        if (done.record_id) { finished(item, done, andSubmit); uploaded += 1; }
        else if (done.stop) { break; }
      }
    } finally {
      sending = false;
      controls.forEach(function (c) { c.disabled = false; });
      drop.removeAttribute("aria-disabled");
    }
    paintSet();
    var left = items.filter(function (it) { return it.state !== "done"; }).length;
    var counts = { n: uploaded, left: left };
    if (left) {
      show(andSubmit
        ? hosoT("Xong: %(n)s tệp đã tải lên và nộp duyệt; %(left)s tệp chưa gửi được.", counts)
        : hosoT("Xong: %(n)s tệp đã tải lên; %(left)s tệp chưa gửi được.", counts));
    } else {
      show(andSubmit ? hosoT("Xong: %(n)s tệp đã tải lên và nộp duyệt.", counts) : hosoT("Xong: %(n)s tệp đã tải lên.", counts));
    }
  });
})();
