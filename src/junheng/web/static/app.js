// Small behaviours of the pages, by data attributes and delegated listeners (the
// Content-Security-Policy allows no inline script and no on* attribute in the templates):
//   <form data-confirm="…">                     asks before it is sent (e.g. a deletion)
//   <input type="checkbox" data-select-all="n"> checks or clears every checkbox named n
//   <button data-require-checked="n" data-require-message="…">  refuses to send while no n is checked
//   <form data-open-path="/prefix/">            goes to /prefix/<value of its field "y"> instead of sending
//   <select data-autosubmit>                    sends its form when changed
// The texts come from the templates through Jinja's autoescape and are only ever used as text.
(function () {
  function checkboxes(name) {
    return Array.prototype.filter.call(document.querySelectorAll("input[type=checkbox]"), function (box) {
      return box.name === name;
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question !== null && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    var path = form.getAttribute("data-open-path");
    if (path !== null) {
      event.preventDefault();
      window.location.href = path + encodeURIComponent(form.elements.y.value);
    }
  });

  document.addEventListener("click", function (event) {
    var target = event.target;
    var all = target.closest ? target.closest("input[data-select-all]") : null;
    if (all) {
      checkboxes(all.getAttribute("data-select-all")).forEach(function (box) { box.checked = all.checked; });
      return;
    }
    var button = target.closest ? target.closest("[data-require-checked]") : null;
    if (button) {
      var name = button.getAttribute("data-require-checked");
      if (!checkboxes(name).some(function (box) { return box.checked; })) {
        event.preventDefault();
        window.alert(button.getAttribute("data-require-message") || "请先勾选");
      }
    }
  });

  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.hasAttribute && select.hasAttribute("data-autosubmit") && select.form) {
      select.form.submit();
    }
  });
})();
