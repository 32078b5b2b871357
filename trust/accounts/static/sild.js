// sild admin UIs: progressive enhancement only; every page works without this file.
// 1. A destructive link (a.danger with data-action) asks in a dialog and posts at once,
//    instead of opening its confirmation page.
// 2. A form with data-confirm asks before it is sent (and then posts confirmed=yes; without this
//    file the server shows its confirmation page instead).
// 3. When the session's idle time is over (meta session-expires), the page reloads to the login page.
(function () {
  "use strict";
  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a.danger[data-action]");
    if (!link) { return; }
    event.preventDefault();
    if (!window.confirm(link.getAttribute("data-question"))) { return; }
    var form = document.createElement("form");
    form.method = "post";
    form.action = link.getAttribute("data-action");
    [["csrf_token", csrf()], ["confirmed", "yes"]].forEach(function (pair) {
      var input = document.createElement("input");
      input.type = "hidden"; input.name = pair[0]; input.value = pair[1];
      form.appendChild(input);
    });
    document.body.appendChild(form);
    form.submit();
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (!question) { return; }
    if (!window.confirm(question)) { event.preventDefault(); return; }
    var input = document.createElement("input");  // asked here: the server need not ask again
    input.type = "hidden"; input.name = "confirmed"; input.value = "yes";
    form.appendChild(input);
  });
  var expires = document.querySelector('meta[name="session-expires"]');
  if (expires) {
    var left = Date.parse(expires.getAttribute("content")) - Date.now();
    if (left > 0) { window.setTimeout(function () { window.location.reload(); }, left + 1000); }
  }
}());
