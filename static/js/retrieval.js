// 劝返 workflow pages: print buttons, and hints on the dismissal form. No inline scripts (CSP).
(function () {
    "use strict";
    document.querySelectorAll("[data-print]").forEach(function (btn) {
        btn.addEventListener("click", function () { window.print(); });
    });
    // Reasons whose dismissal only stands with a proof document attached.
    var needsProof = ["transferred", "out_of_county", "vocational", "deceased", "abroad"];
    var reason = document.querySelector("#dismiss-form select[name=reason]");
    var files = document.querySelector("#dismiss-form input[type=file]");
    if (reason && files) {
        var sync = function () { files.required = needsProof.indexOf(reason.value) >= 0; };
        reason.addEventListener("change", sync);
        sync();
    }
    // Forms that change a child's status ask once before submitting.
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
        form.addEventListener("submit", function (ev) {
            if (!window.confirm(form.getAttribute("data-confirm"))) { ev.preventDefault(); }
        });
    });
})();
