// The portal's copy buttons: copy a read-only field's text. Without JavaScript the field
// can still be selected and copied by hand.
(function () {
  "use strict";

  function copy(button) {
    var field = document.getElementById(button.getAttribute("data-target"));
    var done = button.nextElementSibling;
    var shown = function () { if (done) { done.hidden = false; } };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(shown, function () { field.select(); });
    } else {
      field.select();
      if (document.execCommand("copy")) { shown(); }
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var buttons = document.querySelectorAll("button.copy-snippet");
    for (var i = 0; i < buttons.length; i += 1) {
      buttons[i].addEventListener("click", function (event) { copy(event.currentTarget); });
    }
  });
})();
