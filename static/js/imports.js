// Import page: show that a big upload is on its way (and stop a second click sending it twice).
(function () {
  "use strict";
  var form = document.getElementById("import-upload-form");
  if (!form) { return; }
  form.addEventListener("submit", function () {
    var button = document.getElementById("import-upload-button");
    if (button) {
      button.disabled = true;
      button.textContent = button.getAttribute("data-busy") || "上传中…";
    }
  });
}());
