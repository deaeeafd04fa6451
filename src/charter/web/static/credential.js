// The public credential page: "Verify" runs POST /api/v1/verify live and lists every check;
// "Copy" puts the embed snippet on the clipboard. Served from /static (the CSP forbids inline
// scripts); builds the result with textContent only, never HTML.
(function () {
  "use strict";

  var LABELS = {
    valid: "Valid",
    expired: "Expired",
    revoked: "Revoked",
    suspended: "Suspended",
    not_yet_valid: "Not yet valid",
    invalid: "Not valid"
  };

  function show(result, verdict) {
    var status = document.getElementById("verify-status");
    var reason = document.getElementById("verify-reason");
    var list = document.getElementById("verify-checks");
    status.textContent = LABELS[verdict.status] || verdict.status;
    status.className = "pill pill-" + verdict.status;
    status.setAttribute("data-status", verdict.status);
    reason.textContent = verdict.reason || "Every check passed.";
    list.textContent = "";
    (verdict.checks || []).forEach(function (check) {
      var item = document.createElement("li");
      item.className = check.ok ? "ok" : "failed";
      item.setAttribute("data-check", check.name);
      var mark = document.createElement("span");
      mark.className = "mark";
      mark.textContent = check.ok ? "\u2713" : "\u2717";
      var name = document.createElement("span");
      name.className = "check-name";
      name.textContent = check.name.replace(/_/g, " ");
      var detail = document.createElement("span");
      detail.className = "check-detail";
      detail.textContent = check.detail;
      item.append(mark, name, detail);
      list.appendChild(item);
    });
    result.hidden = false;
  }

  function failed(result, message) {
    show(result, { status: "error", reason: message, checks: [] });
    document.getElementById("verify-status").textContent = "Could not verify";
  }

  function verify(button) {
    var result = document.getElementById("verify-result");
    button.disabled = true;
    button.textContent = "Verifying\u2026";
    fetch(button.getAttribute("data-credential"), { headers: { Accept: "application/vc+ld+json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("the credential could not be loaded"); }
        return response.text();
      })
      .then(function (credential) {
        // The stored text goes as it is, inside the {"credential": ...} envelope.
        return fetch(button.getAttribute("data-endpoint"), {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "application/json" },
          body: '{"credential":' + credential + "}"
        });
      })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) { throw new Error(body.detail || "verification failed"); }
          return body;
        });
      })
      .then(function (verdict) { show(result, verdict); })
      .catch(function (error) { failed(result, error.message); })
      .finally(function () {
        button.disabled = false;
        button.textContent = "Verify again";
      });
  }

  function copy(button) {
    var field = document.getElementById(button.getAttribute("data-target"));
    var done = document.getElementById("copy-done");
    var shown = function () { done.hidden = false; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(shown, function () {
        field.select();
      });
    } else {
      field.select();
      if (document.execCommand("copy")) { shown(); }
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var verifyButton = document.getElementById("verify-button");
    if (verifyButton) {
      verifyButton.addEventListener("click", function () { verify(verifyButton); });
    }
    var copyButton = document.getElementById("copy-snippet");
    if (copyButton) {
      copyButton.addEventListener("click", function () { copy(copyButton); });
    }
  });
})();
