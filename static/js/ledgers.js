// Ledgers (台账): small progressive enhancements; every page works without them.
(function () {
    "use strict";

    // 返校报到: one box ticks every not-yet-reported child of the class.
    document.querySelectorAll("[data-tick-all]").forEach(function (all) {
        var form = all.closest("form");
        all.addEventListener("change", function () {
            form.querySelectorAll('input[name="student"]').forEach(function (box) {
                box.checked = all.checked;
            });
        });
    });

    // A select that reloads the page when changed (term switch).
    document.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
        sel.addEventListener("change", function () { sel.form.submit(); });
    });

    // Print buttons (送教上门工作手册).
    document.querySelectorAll("[data-print]").forEach(function (btn) {
        btn.addEventListener("click", function () { window.print(); });
    });

    // Forms that ask before a destructive submit.
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
        form.addEventListener("submit", function (ev) {
            if (!window.confirm(form.getAttribute("data-confirm"))) { ev.preventDefault(); }
        });
    });

    // 学籍变动: the destination fields matter only for 转出.
    var form = document.querySelector('form[data-ledger="status_changes"]');
    if (form) {
        var kind = form.querySelector('select[name="kind"]');
        var dest = ["to_school", "to_county", "to_school_name"];
        var ends = ["end_date"];
        var sync = function () {
            dest.forEach(function (name) {
                var row = form.querySelector('[data-field="' + name + '"]');
                if (row) { row.classList.toggle("is-hidden", kind.value !== "transfer_out"); }
            });
            ends.forEach(function (name) {
                var row = form.querySelector('[data-field="' + name + '"]');
                if (row) { row.classList.toggle("is-hidden", kind.value !== "leave" && kind.value !== "suspend"); }
            });
        };
        kind.addEventListener("change", sync);
        sync();
    }
}());
