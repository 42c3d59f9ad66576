// The public survey page: every answer is saved as it is chosen (POST to the form's data-save
// address with the page's response token), and the progress line counts the answered items.
// Without this script the submit button still saves everything.
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }
  ready(function () {
    var form = document.getElementById("survey-form");
    if (!form || !window.fetch || !window.FormData) { return; }
    var status = document.getElementById("save-status");
    var answered = document.getElementById("answered");
    var pending = null;
    var sending = false;
    function show(text, failed) {
      if (!status) { return; }
      status.textContent = text;
      status.className = failed ? "saved failed" : "saved";
    }
    function save() {
      if (sending) { pending = true; return; }
      sending = true;
      pending = false;
      var body = new URLSearchParams(new FormData(form));
      body.delete("confirm");
      fetch(form.getAttribute("data-save"), {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "Accept": "application/json" }
      }).then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, data: data }; });
      }).then(function (result) {
        if (result.ok) {
          show("答案已自动保存", false);
          if (answered && typeof result.data.answered === "number") { answered.textContent = result.data.answered; }
        } else {
          show((result.data && result.data.detail) || "保存失败，请稍后再试", true);
        }
      }).catch(function () {
        show("暂时无法保存（网络中断？）：恢复网络后继续作答即可，提交时会一并保存", true);
      }).then(function () {
        sending = false;
        if (pending) { save(); }
      });
    }
    form.addEventListener("change", function (event) {
      if (event.target && event.target.type === "radio") { save(); }
    });
  });
})();
