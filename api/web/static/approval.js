// The principal's review workspace (approval.html). Without this script the page is a plain form:
// choose per row, "Lưu quyết định", then sign. With it:
// - the queue sits beside a viewer that shows the selected plan's pages as images (archive/preview.py),
//   never a new tab; a row is selected by a click, by ←/→ or J/K, or by the viewer's buttons;
// - A approves the plan in view and moves on, R marks it returned and puts the cursor in its comment
//   (Enter records it and moves on); no shortcut acts while the cursor is in a field;
// - each plan shown is marked "đã xem"; choices and marks are kept in this browser (localStorage) until
//   they are saved, so a reload or a refusal loses nothing;
// - the signing form is docked at the bottom with a live summary ("38 duyệt, 1 trả lại — ký bằng …");
//   "Ký duyệt" first saves the choices not yet saved (the decisions API), then signs;
// - "Lưu quyết định" saves in place, without reloading the page.
// A static file rather than inline script, so the page passes a CSP without 'unsafe-inline'.
(function () {
  "use strict";
  var MAX_PAGES_SHOWN = 40;
  var WIDTH = 900;

  function say(form, text) {
    var live = form.querySelector("[data-said]");
    if (live) { live.textContent = ""; live.textContent = text; }
  }
  function typing(target) {  // a field that takes letters: a shortcut there would eat what is typed
    if (!target) { return false; }
    if (target.tagName === "INPUT") { return !/^(radio|checkbox|button|submit|reset)$/.test(target.type); }
    return target.isContentEditable || /^(TEXTAREA|SELECT)$/.test(target.tagName);
  }

  function Workspace(form, withKeys) {
    // kept per person and batch: on a shared staff-room PC a vice principal never inherits the
    // principal's unsaved choices (and logging out clears them: ui.js)
    var batch = form.dataset.batch, key = "hoso-duyet-" + form.dataset.person + "-" + batch;
    var rows = Array.prototype.slice.call(form.querySelectorAll("tr.item"));
    var viewer = form.querySelector(".viewer"), pages = form.querySelector(".viewer-pages");
    var dock = document.querySelector("form.sign[data-batch='" + batch + "']");
    var kept = load(), current = -1, counts = {};

    function load() {
      try { return JSON.parse(localStorage.getItem(key)) || { choices: {}, seen: {} }; } catch (e) { return { choices: {}, seen: {} }; }
    }
    function store() {
      try { localStorage.setItem(key, JSON.stringify(kept)); } catch (e) { /* private mode: choices stay in the page */ }
    }
    function pending(row) { return row.dataset.decision === "pending" && !!row.querySelector("input[type=radio]"); }
    function choiceOf(row) {
      var checked = row.querySelector("input[type=radio]:checked");
      return checked ? checked.value : "";
    }
    function comment(row) { return row.querySelector("input[name^='c-']"); }
    function mark(row) {
      var d = pending(row) ? choiceOf(row) : "";
      row.classList.toggle("chose-approved", d === "approved");
      row.classList.toggle("chose-returned", d === "returned");
      row.querySelector(".seen-mark").hidden = !kept.seen[row.dataset.item];
    }
    function remember(row) {
      if (!pending(row)) { return; }
      var c = comment(row);
      kept.choices[row.dataset.item] = { d: choiceOf(row), c: c ? c.value : "" };
      store(); mark(row); summary();
    }
    function summary() {
      var n = { approved: 0, returned: 0, pending: 0, seen: 0 };
      rows.forEach(function (row) {
        var d = pending(row) ? choiceOf(row) || "pending" : row.dataset.decision;
        if (n[d] !== undefined) { n[d] += 1; }
        if (kept.seen[row.dataset.item]) { n.seen += 1; }
      });
      counts = n;
      if (!dock) { return; }
      var text = hosoT("%(a)s duyệt, %(r)s trả lại", { a: n.approved, r: n.returned });
      if (n.pending) { text += ", " + hosoT("%(n)s chưa quyết định", { n: n.pending }); }
      var source = dock.querySelector("input[name=key_source]:checked");
      var label = source ? source.parentNode.textContent.trim() : "";
      dock.querySelector("[data-summary]").textContent = text + " — " + hosoT("ký bằng") + " " + label +
        " · " + hosoT("đã xem %(n)s/%(all)s", { n: n.seen, all: rows.length });
      var hint = dock.querySelector("[data-pending-hint]");
      if (hint) { hint.hidden = true; }  // "Lưu quyết định" first is the plain form's way; here "Ký duyệt" saves
    }

    function show(index, focusRow) {
      if (!rows.length) { return; }
      current = Math.max(0, Math.min(rows.length - 1, index));
      var row = rows[current];
      rows.forEach(function (r) { r.classList.toggle("current", r === row); r.removeAttribute("aria-current"); });
      row.setAttribute("aria-current", "true");
      row.scrollIntoView({ block: "nearest" });
      if (focusRow) { row.querySelector("a.open").focus({ preventScroll: true }); }
      viewer.querySelector(".viewer-title").textContent = row.dataset.title;
      viewer.querySelector(".viewer-pos").textContent = hosoT("%(n)s / %(all)s", { n: current + 1, all: rows.length });
      pages.innerHTML = "";
      pages.scrollTop = 0;
      kept.seen[row.dataset.item] = true; store(); mark(row); summary();
      say(form, hosoT("Kế hoạch %(n)s / %(all)s: %(title)s", { n: current + 1, all: rows.length, title: row.dataset.title }));
      if (!row.dataset.pages) {
        var none = document.createElement("p");
        none.className = "muted";
        none.textContent = hosoT("Chưa có bản xem trước");
        pages.appendChild(none);
        return;
      }
      var counted = row.dataset.count ? Promise.resolve({ pages: Number(row.dataset.count) }) :
        fetch(row.dataset.pages, { headers: { Accept: "application/json" } })
          .then(function (r) { return r.ok ? r.json() : { pages: 1 }; })
          .catch(function () { return { pages: 1 }; });
      counted.then(function (info) {
          row.dataset.count = info.pages || 1;
          if (rows[current] !== row) { return; }  // moved on meanwhile
          var width = Math.min(1600, Math.round(WIDTH * Math.min(window.devicePixelRatio || 1, 1.75)));
          for (var p = 1; p <= Math.min(info.pages || 1, MAX_PAGES_SHOWN); p++) {
            var img = document.createElement("img");
            img.src = row.dataset.pages + "/" + p + ".png?width=" + width;
            img.alt = hosoT("Trang %(p)s / %(all)s", { p: p, all: info.pages });
            img.loading = p > 2 ? "lazy" : "eager";
            img.width = 900; img.height = 1273;
            img.addEventListener("load", function () { this.classList.add("loaded"); });
            pages.appendChild(img);
          }
        });
    }
    function next() {  // the next plan still undecided after the current one, else simply the next
      for (var i = current + 1; i < rows.length; i++) { if (pending(rows[i]) && !choiceOf(rows[i])) { return show(i); } }
      show(current + 1);
    }
    function choose(decision) {
      var row = rows[current];
      if (!row || !pending(row)) { return; }
      row.querySelector("input[value=" + decision + "]").checked = true;
      remember(row);
      if (decision === "approved") {
        say(form, hosoT("Đã chọn duyệt: %(title)s", { title: row.dataset.title }));
        next();
      } else {
        var c = comment(row);
        c.focus();
        say(form, hosoT("Trả lại: ghi ý kiến cho giáo viên rồi nhấn Enter."));
      }
    }

    var saving = Promise.resolve(true);
    function save() {  // one save at a time: a second waits for the first, then sends only what is still unsaved
      saving = saving.then(saveNow, saveNow);
      return saving;
    }
    async function saveNow() {  // the choices not yet saved, through the decisions API; true when none is left unsaved
      var decisions = [];
      rows.forEach(function (row) {
        if (pending(row) && choiceOf(row)) {
          var c = comment(row);
          decisions.push({ item_id: Number(row.dataset.item), decision: choiceOf(row), comment: c && c.value ? c.value : null });
        }
      });
      if (!decisions.length) { return true; }
      var error = form.querySelector(".save-error");
      error.textContent = "";
      var response = await fetch("/api/v1/approvals/" + batch + "/decisions", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": form.dataset.csrf },
        body: JSON.stringify({ decisions: decisions }),
      }).catch(function () { return null; });
      if (!response || !response.ok) {
        var body = response ? await response.json().catch(function () { return {}; }) : {};
        error.textContent = response ? hosoProblem(body) || ("HTTP " + response.status) : hosoT("Mất kết nối; các lựa chọn vẫn được giữ, hãy thử lại.");
        var wrong = body.detail && body.detail.item_id ? form.querySelector("#muc-" + body.detail.item_id) : null;
        if (wrong) { show(rows.indexOf(wrong)); (comment(wrong) || wrong.querySelector("a.open")).focus(); }
        return false;
      }
      var saved = await response.json();
      saved.items.forEach(function (item) {
        var row = form.querySelector("#muc-" + item.id);
        if (!row || item.decision === "pending") { return; }
        row.dataset.decision = item.decision;
        var cells = row.querySelectorAll("td");
        var badge = document.createElement("span");
        badge.className = "badge badge-" + item.decision;
        badge.textContent = item.decision === "approved" ? hosoT("đã duyệt") : hosoT("đã trả lại");
        cells[2].innerHTML = ""; cells[2].appendChild(badge);
        cells[3].textContent = item.comment || "";
        delete kept.choices[item.id];
        mark(row);
      });
      store(); summary();
      say(form, hosoT("Đã lưu %(n)s quyết định.", { n: decisions.length }));
      return true;
    }

    rows.forEach(function (row, index) {
      var saved = kept.choices[row.dataset.item];
      if (saved && pending(row) && !choiceOf(row)) {  // kept in this browser; what the server sent back wins
        var radio = row.querySelector("input[value=" + saved.d + "]");
        if (radio) { radio.checked = true; }
        var c = comment(row);
        if (c && !c.value) { c.value = saved.c || ""; }
      }
      mark(row);
      row.addEventListener("change", function () { remember(row); });
      row.addEventListener("input", function () { remember(row); });
      row.addEventListener("click", function (event) {
        if (event.target.closest("a.open")) { event.preventDefault(); }
        if (current !== index) { show(index); }
      });
      var c = comment(row);
      if (c) {
        c.addEventListener("keydown", function (event) {
          if (event.key !== "Enter") { return; }
          event.preventDefault();  // Enter in a comment records this return, it does not post the form
          if (!c.value.trim()) { say(form, hosoT("Ghi ý kiến để giáo viên biết cần sửa gì.")); return; }
          row.querySelector("input[value=returned]").checked = true;
          remember(row);
          say(form, hosoT("Đã chọn trả lại: %(title)s", { title: row.dataset.title }));
          c.blur();
          next();
        });
      }
    });
    var error = document.createElement("p");
    error.className = "field-error save-error"; error.setAttribute("role", "alert");
    form.querySelector(".review").after(error);
    viewer.hidden = false;
    form.querySelectorAll(".needs-script").forEach(function (e) { e.hidden = false; });
    form.parentNode.querySelectorAll("p.needs-script").forEach(function (e) { e.hidden = false; });
    viewer.querySelectorAll("[data-go]").forEach(function (b) {
      b.addEventListener("click", function () { show(current + Number(b.dataset.go)); });
    });
    viewer.querySelectorAll("[data-choose]").forEach(function (b) {
      b.addEventListener("click", function () { choose(b.dataset.choose); });
    });
    var rest = form.querySelector("button[data-approve-rest]");
    if (rest) {
      rest.addEventListener("click", function () {
        rows.forEach(function (row) {
          if (pending(row) && !choiceOf(row)) { row.querySelector("input[value=approved]").checked = true; remember(row); }
        });
        say(form, hosoT("Đã chọn duyệt tất cả kế hoạch còn lại."));
      });
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      save();
    });
    if (dock) {
      dock.querySelectorAll("input[name=key_source]").forEach(function (r) { r.addEventListener("change", summary); });
      dock.addEventListener("submit", function (event) {
        if (dock.dataset.saved === "yes") { dock.dataset.saved = ""; return; }  // the second pass: sign
        var unsaved = rows.some(function (r) { return pending(r) && choiceOf(r); });
        var undecided = rows.filter(function (r) { return pending(r) && !choiceOf(r); });
        if (!unsaved && !undecided.length) { return; }  // nothing to save first: sign straight away
        event.preventDefault();
        event.stopImmediatePropagation();
        if (undecided.length) {
          var msg = hosoT("Còn %(n)s kế hoạch chưa quyết định; hãy duyệt hoặc trả lại trước khi ký.", { n: undecided.length });
          form.querySelector(".save-error").textContent = msg;
          show(rows.indexOf(undecided[0]), true);
          return;
        }
        var submitter = event.submitter;
        save().then(function (ok) {
          if (!ok) { return; }
          dock.dataset.saved = "yes";
          dock.requestSubmit(submitter);
        });
      });
    }
    if (withKeys) { document.addEventListener("keydown", keys); }
    function keys(event) {
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
      var k = event.key;
      if (k === "j" || k === "J" || k === "ArrowRight") { show(current + 1); }
      else if (k === "k" || k === "K" || k === "ArrowLeft") { show(current - 1); }
      else if (k === "a" || k === "A") { choose("approved"); }
      else if (k === "r" || k === "R") { choose("returned"); }
      else { return; }
      event.preventDefault();
    }
    summary();
    if (withKeys && rows.length) { form.closest("section").scrollIntoView({ block: "start" }); }  // the work fills the screen
    var start = rows.filter(function (r) { return pending(r) && !choiceOf(r); })[0] || rows[0];
    if (start) { show(rows.indexOf(start)); }
  }

  // the keyboard drives the first batch on the page (a principal of one school has one open batch a period)
  document.querySelectorAll("form.decisions").forEach(function (form, n) { Workspace(form, n === 0); });
})();
