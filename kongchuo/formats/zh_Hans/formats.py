# Django's zh_Hans formats put "%Y/%m/%d" first, and a date input shows a value in the first
# input format: <input type="date"> accepts only ISO (2026-12-07) and shows "2026/12/07" as
# empty. ISO first here; the slashed forms are still read (settings.FORMAT_MODULE_PATH).
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%Y/%m/%d"]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
]
