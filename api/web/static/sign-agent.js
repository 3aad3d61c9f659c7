// "Ký duyệt" with the USB token on this PC, through `hoso sign-agent` on 127.0.0.1: the agent asks
// the token for the PIN once, then the page moves digests from hoso to the agent and signature
// values back, chunk by chunk, until the batch (and its approval record) is signed. The document
// never reaches the agent; the PIN never reaches the hoso server.
(function () {
  "use strict";
  var CHUNK = 25;

  function sourceOf(form) {
    var checked = form.querySelector("input[name=key_source]:checked");
    return checked ? checked.value : "pkcs12";
  }
  function showFields(form) {
    var source = sourceOf(form);
    form.querySelectorAll("[data-for]").forEach(function (box) {
      box.hidden = box.dataset.for.split(" ").indexOf(source) < 0;
    });
    if (source === "agent") { probe(form); }
  }
  async function problem(response) {
    var body = await response.json().catch(function () { return {}; });
    var error = new Error(hosoProblem(body) || ("HTTP " + response.status));
    error.body = body;
    return error;
  }
  function dateOf(iso) {
    var d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleDateString("vi-VN");
  }
  // A certificate's first use: show what the principal checks and wait for "Đây là chứng thư số của tôi".
  function confirmCertificate(form, detail) {
    var box = form.querySelector(".agent-confirm"), c = detail.certificate;
    box.innerHTML = "";
    var title = document.createElement("h4");
    title.textContent = hosoT("Lần đầu ký bằng chứng thư số này: hãy kiểm tra");
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", title.textContent);
    box.appendChild(title);
    var list = document.createElement("dl");
    [
      [hosoT("Chủ thể"), c.subject], [hosoT("Nơi cấp"), c.issuer], [hosoT("Số sê-ri"), c.serial],
      [hosoT("Hiệu lực"), dateOf(c.not_before) + " – " + dateOf(c.not_after)],
      [hosoT("Số CMND/CCCD trên chứng thư"), c.national_id], [hosoT("Dấu vân tay SHA-256"), c.fingerprint],
    ].forEach(function (row) {
      if (!row[1]) { return; }
      var dt = document.createElement("dt"), dd = document.createElement("dd");
      dt.textContent = row[0]; dd.textContent = row[1];
      list.appendChild(dt); list.appendChild(dd);
    });
    box.appendChild(list);
    if (!detail.name_matches) {
      var warn = document.createElement("p");
      warn.className = "field-error"; warn.setAttribute("role", "alert");
      warn.textContent = hosoT("Tên trên chứng thư số (%(cn)s) khác tên của bạn (%(name)s). Chỉ xác nhận nếu đây đúng là chứng thư số của bạn.", { cn: c.common_name, name: detail.person_name });
      box.appendChild(warn);
    }
    var yes = document.createElement("button"), no = document.createElement("button");
    yes.type = "button"; yes.className = "agent-confirm-yes"; yes.textContent = hosoT("Đây là chứng thư số của tôi");
    no.type = "button"; no.className = "secondary"; no.textContent = hosoT("Không ký");
    box.appendChild(yes); box.appendChild(no);
    box.hidden = false;
    yes.focus();
    return new Promise(function (resolve, reject) {
      yes.addEventListener("click", function () { box.hidden = true; resolve(c.fingerprint); });
      no.addEventListener("click", function () { box.hidden = true; reject(new Error(hosoT("bạn chưa xác nhận chứng thư số"))); });
    });
  }
  async function agentCall(form, path, method, body) {
    var response = await fetch(form.dataset.agent + path, {
      method: method || "GET",
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!response.ok) { throw await problem(response); }
    return response.status === 204 ? null : response.json();
  }
  async function hosoCall(form, path, body) {
    var response = await fetch("/api/v1/approvals/" + form.dataset.batch + path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": form.dataset.csrf },
      body: JSON.stringify(body),
    });
    if (!response.ok) { throw await problem(response); }
    return response.json();
  }
  async function probe(form) {
    var state = form.querySelector(".agent-state"), ready = form.querySelector(".agent-ready");
    var help = form.querySelector(".agent-help"), select = form.querySelector(".agent-token");
    state.textContent = hosoT("Đang tìm hoso sign-agent trên máy tính này…");
    ready.hidden = true; help.hidden = true;
    try {
      var status = await agentCall(form, "/status");
      select.innerHTML = "";
      status.tokens.forEach(function (label) {
        var option = document.createElement("option");
        option.value = label; option.textContent = label; select.appendChild(option);
      });
      if (!status.tokens.length) { throw new Error(hosoT("chưa cắm USB token")); }
      state.textContent = hosoT("✔ Đã kết nối hoso sign-agent (%(n)s token).", { n: status.tokens.length });
      ready.hidden = false;
    } catch (e) {
      var why = e instanceof TypeError ? "" : " (" + e.message + ")";  // TypeError: nothing listens there
      state.textContent = hosoT("Không kết nối được hoso sign-agent%(why)s.", { why: why });
      help.hidden = false;
    }
  }
  async function signWithAgent(form) {
    var error = form.querySelector(".field-error"), bar = form.querySelector(".agent-progress");
    var state = form.querySelector(".agent-state"), button = form.querySelector("button[type=submit]");
    var pin = form.querySelector(".agent-pin");
    error.textContent = ""; pin.removeAttribute("aria-invalid");
    if (!pin.value) { error.textContent = hosoT("Nhập mã PIN của USB token."); pin.setAttribute("aria-invalid", "true"); return; }
    button.disabled = true;
    var session = null;
    try {
      session = await agentCall(form, "/sessions", "POST", { pin: pin.value, token_label: form.querySelector(".agent-token").value });
      pin.value = "";
      bar.hidden = false;
      var body = { certificate: session.certificate, chain: session.chain, limit: CHUNK };
      for (;;) {
        var prepared;
        try {
          prepared = await hosoCall(form, "/prepare", body);
        } catch (e) {
          if (!e.body || e.body.error !== "certificate_unconfirmed" || body.confirm_certificate) { throw e; }
          body.confirm_certificate = await confirmCertificate(form, e.body.detail);
          continue;
        }
        if (!prepared.items.length) { break; }
        var signed = await agentCall(form, "/sessions/" + session.session + "/sign", "POST", {
          digests: prepared.items.map(function (i) { return i.digest; }),
        });
        var done = await hosoCall(form, "/complete", {
          signatures: prepared.items.map(function (i, n) { return { id: i.id, signature: signed.signatures[n] }; }),
        });
        var c = done.counts;
        bar.max = Math.max(c.approved, 1); bar.value = c.signed;
        state.textContent = hosoT("Đang ký… %(done)s / %(all)s hồ sơ.", { done: c.signed, all: c.approved });
        if (done.state === "signed") { break; }
      }
      window.location.assign("/duyet/" + form.dataset.batch);
    } catch (e) {
      var reason = e instanceof TypeError ? hosoT("mất kết nối tới hoso sign-agent hoặc máy chủ") : e.message;
      error.textContent = hosoT("Chưa ký xong: %(why)s", { why: reason });
      button.disabled = false;
    } finally {
      if (session) { agentCall(form, "/sessions/" + session.session, "DELETE").catch(function () {}); }
    }
  }

  document.querySelectorAll("form.sign").forEach(function (form) {
    form.querySelectorAll(".needs-script").forEach(function (e) { e.hidden = false; });
    form.querySelectorAll("input[name=key_source]").forEach(function (radio) {
      radio.addEventListener("change", function () { showFields(form); });
    });
    form.querySelector(".agent-retry").addEventListener("click", function () { probe(form); });
    form.addEventListener("submit", function (event) {
      if (sourceOf(form) === "agent") { event.preventDefault(); signWithAgent(form); }
    });
    showFields(form);
  });
})();
