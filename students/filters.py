from __future__ import annotations

import django_filters
from django import forms
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from students.forms import grade_label
from students.models import School, Student, Township
from students.support import SUPPORT_GROUPS

# The support groups (students.support) by their flag, 残疾 by its category; then the two
# other flags the roster carries.
FLAG_CHOICES = [
    *[(g.flag or "disabled", g.label) for g in SUPPORT_GROUPS],
    ("is_left_behind", _("留守儿童")), ("is_migrant", _("随迁子女")),
]


def _attrs_html(attrs: dict) -> str:
    """Django's widgets/attrs.html in Python: `True` → bare name, `False` → left out."""
    out = []
    for name, value in attrs.items():
        if value is False:
            continue
        out.append(f" {conditional_escape(name)}")
        if value is not True:
            out.append(f'="{conditional_escape(str(value))}"')
    return "".join(out)


class FastSelect(forms.Select):
    """A <select> rendered in Python, byte for byte what Django's templates render.

    Django renders every <option> through two template includes, and the county's few hundred
    schools in the roster filter made that a visible share of every list page's CPU (figures:
    docs/performance.md). Same context (`get_context`), same markup, no templates.
    """

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs_html(widget["attrs"])}>']
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
            for option in options:
                # templates/django/forms/widgets/select_option.html words Django's empty choice
                label = _("请选择") if option["label"] == "---------" else option["label"]
                parts.append(f'\n  <option value="{conditional_escape(str(option["value"]))}"'
                             f'{_attrs_html(option["attrs"])}>{conditional_escape(label)}</option>\n')
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped


class StudentFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("姓名/拼音/证件后4位"), method="filter_q")
    school = django_filters.ModelChoiceFilter(label=_("学校"), queryset=School.objects.none(),
                                              widget=FastSelect)
    grade = django_filters.ChoiceFilter(label=_("年级"), choices=[(grade, grade_label(grade)) for grade in range(1, 10)],
                                        widget=FastSelect)
    class_name = django_filters.CharFilter(label=_("班级"))
    status = django_filters.ChoiceFilter(label=_("状态"), choices=Student.Status.choices, widget=FastSelect)
    flag = django_filters.ChoiceFilter(label=_("帮扶标识"), choices=FLAG_CHOICES, method="filter_flag",
                                       widget=FastSelect)

    class Meta:
        model = Student
        fields = ["q", "school", "grade", "class_name", "status", "flag"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["school"].queryset = School.objects.visible_to(user).only("id", "name")
        for f in self.form.fields.values():
            css = "form-select form-select-sm" if isinstance(f.widget, forms.Select) else "form-control form-control-sm"
            f.widget.attrs["class"] = css

    def filter_q(self, queryset, name, value):
        return queryset.search(value)

    def filter_flag(self, queryset, name, value):
        if value == "disabled":
            return queryset.exclude(disability_category="")
        return queryset.filter(**{value: True})


class SchoolFilter(django_filters.FilterSet):
    """学校与责任人: by name or code, township, kind, oversight, and schools whose principal or
    控辍保学专干 is not on file yet."""

    q = django_filters.CharFilter(label=_("学校名称/标识码"), method="filter_q")
    township = django_filters.ModelChoiceFilter(label=_("乡镇"), queryset=None, widget=FastSelect)
    kind = django_filters.ChoiceFilter(label=_("类型"), choices=School.Kind.choices, widget=FastSelect)
    oversight = django_filters.ChoiceFilter(label=_("管理层级"), choices=School.Oversight.choices,
                                            widget=FastSelect)
    missing = django_filters.ChoiceFilter(label=_("责任人"), method="filter_missing", widget=FastSelect,
                                          choices=[("principal", _("未填校长")),
                                                   ("clerk", _("未填专干"))])

    class Meta:
        model = School
        fields = ["q", "township", "kind", "oversight", "missing"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["township"].queryset = Township.objects.filter(
            pk__in=School.objects.visible_to(user).values("township_id"))
        for f in self.form.fields.values():
            css = "form-select form-select-sm" if isinstance(f.widget, forms.Select) else "form-control form-control-sm"
            f.widget.attrs["class"] = css

    def filter_q(self, queryset, name, value):
        value = (value or "").strip()
        if not value:
            return queryset
        if value.isdigit():
            return queryset.filter(code__startswith=value)
        return queryset.filter(name__contains=value)

    def filter_missing(self, queryset, name, value):
        return queryset.filter(**{f"{value}_name": ""})
