from datetime import date
from decimal import Decimal

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.utils.functional import lazy
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy, override

from vielfalt.templatetags.vielfalt_tags import _filler


def render(source: str, **context) -> str:
    return Template("{% load i18n vielfalt_tags %}" + source).render(Context(context))


def test_rowformat_writes_the_markup_once_per_row_with_the_values_escaped():
    rows = [(1, "<b>A</b>", format_html("<i>{}</i>", "x")), (2, "B & C", "")]
    assert render(
        '{% rowformat rows %}<tr data-row="{0}"><td>{1}</td><td>{2}</td></tr>{% endrowformat %}', rows=rows
    ) == (
        '<tr data-row="1"><td>&lt;b&gt;A&lt;/b&gt;</td><td><i>x</i></td></tr>'
        '<tr data-row="2"><td>B &amp; C</td><td></td></tr>'
    )


class Marked(str):
    def __html__(self):
        return f"<em>{self}</em>"


def test_rowformat_escapes_every_kind_of_value_as_conditional_escape():
    values = [
        "<a href='x'>\"&\"</a>",
        "Stadt Duisburg",
        "O'Neil",
        'Kurs "A"',
        "x > y",
        "Müller & Söhne",
        "",
        gettext_lazy("Stadt <X> & Co"),
        mark_safe(lazy(lambda: "<b>safe</b>", str)()),  # noqa: S308
        SafeString("<i>safe</i>"),
        Marked("<marked>"),
        Decimal("1.50"),
        7,
        None,
        date(2026, 1, 5),
    ]
    pattern = "".join(f"[{{{index}}}]" for index in range(len(values)))
    expected = "".join(f"[{conditional_escape(value)}]" for value in values)
    assert render("{% rowformat rows %}" + pattern + "{% endrowformat %}", rows=[values]) == expected


@pytest.mark.parametrize(
    "pattern",
    [
        "<td>{0}</td><td>{1}</td>",
        '<label for="a-{2}">{0} 100 %</label><select id="a-{2}" name="a-{2}">{1}</select>',
        "<td>{1}</td>",
        "<td>{{literal}} 50 %% {0}</td>",
        "<td>no fields, {{ }} 5 %</td>",
        "<td>{0:>6}|{1!r}|{2}</td>",
    ],
)
def test_rowformat_fills_a_pattern_as_str_format(pattern):
    values = ["a", "<b>", "7"]
    assert _filler(pattern)(values) == pattern.format(*values)


def test_rowformat_renders_its_tags_once_for_every_row_and_nothing_without_rows():
    source = '{% rowformat rows %}{% if wide %}<td>{0}</td>{% endif %}<td>{% translate "Edit" %} {1}</td>{% endrowformat %}'
    with override("de"):
        assert render(source, rows=[("a", "b")], wide=True) == "<td>a</td><td>Bearbeiten b</td>"
        assert render(source, rows=[("a", "b")], wide=False) == "<td>Bearbeiten b</td>"
    assert render(source, rows=[]) == render(source) == ""


def test_rowformat_takes_one_argument():
    with pytest.raises(TemplateSyntaxError):
        Template("{% load vielfalt_tags %}{% rowformat %}x{% endrowformat %}")


def test_shows_errors_finds_forms_formsets_and_lists_that_failed_and_loads_no_lazy_object():
    from django import forms
    from django.utils.functional import SimpleLazyObject

    class PersonForm(forms.Form):
        name = forms.CharField()
        age = forms.IntegerField(required=False)

    PersonFormSet = forms.formset_factory(PersonForm)
    template = Template("{% load vielfalt_tags %}{% shows_errors as failed %}{{ failed }}")

    def loaded():
        raise AssertionError("the lazy object was loaded")

    quiet = {"user": SimpleLazyObject(loaded), "form": PersonForm(), "other": PersonForm({"name": "Anna"})}
    management = {"form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "0"}
    cases = [
        ({}, "False"),
        ({"form": PersonForm({"age": "3"})}, "True"),
        ({"people": PersonFormSet({**management, "form-0-name": "Anna"})}, "False"),
        ({"people": PersonFormSet({**management, "form-0-age": "3"})}, "True"),
        ({"problems": ["Zeile 3: unbekannte Einheit"]}, "True"),
        ({"problems": []}, "False"),
    ]
    assert [template.render(Context({**quiet, **extra})) for extra, _ in cases] == [
        shown for _, shown in cases
    ]
