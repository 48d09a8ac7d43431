import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.utils.html import format_html
from django.utils.translation import override


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


def test_rowformat_renders_its_tags_once_for_every_row_and_nothing_without_rows():
    source = '{% rowformat rows %}{% if wide %}<td>{0}</td>{% endif %}<td>{% translate "Edit" %} {1}</td>{% endrowformat %}'
    with override("de"):
        assert render(source, rows=[("a", "b")], wide=True) == "<td>a</td><td>Bearbeiten b</td>"
        assert render(source, rows=[("a", "b")], wide=False) == "<td>Bearbeiten b</td>"
    assert render(source, rows=[]) == render(source) == ""


def test_rowformat_takes_one_argument():
    with pytest.raises(TemplateSyntaxError):
        Template("{% load vielfalt_tags %}{% rowformat %}x{% endrowformat %}")
