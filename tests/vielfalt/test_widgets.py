"""vielfalt.widgets.Select writes a select in one pass with the markup of Django's templates: the same
attributes, options, selected option and escaping, whatever the choices."""

import pytest
from django import forms
from django.db import connection
from django.test.html import parse_html
from django.test.signals import template_rendered
from django.test.utils import CaptureQueriesContext

from tests.factories import OrganisationFactory, UserFactory
from vielfalt.forms import EmployeeImportForm
from vielfalt.models import Organisation
from vielfalt.validation import ModelForm
from vielfalt.widgets import Select, one_pass

CHOICES = [
    ("", "- Select an option -"),
    ("a", "Ämter & <Dienste>"),
    ("b", 'Bürger "amt"'),
    (3, "Drei"),
    ("a", "twice"),
]


def django_and_one_pass(widget: forms.Select, name: str, value, attrs=None) -> tuple[str, str]:
    return widget.render(name, value, attrs), one_pass(widget).render(name, value, attrs)


@pytest.mark.parametrize("value", [None, "", "a", "3", 3, "missing", ["b"]])
def test_a_select_is_written_as_django_writes_it(value):
    widget = forms.Select(
        choices=CHOICES, attrs={"class": "form-select", "hx-get": "/x/?a=1&b=<2>", "disabled": False}
    )
    widget.is_required = True
    django, fast = django_and_one_pass(widget, "unit", value, {"id": "id_unit", "required": True})
    assert isinstance(one_pass(widget), Select)
    assert parse_html(fast) == parse_html(django), fast


def test_only_plain_selects_are_replaced_and_groups_are_left_to_django():
    assert type(one_pass(forms.SelectMultiple())) is forms.SelectMultiple
    assert type(one_pass(forms.RadioSelect())) is forms.RadioSelect
    grouped = forms.Select(choices=[("Städte", [("1", "Duisburg"), ("2", "Essen")]), ("3", "Land")])
    django, fast = django_and_one_pass(grouped, "place", "2")
    assert parse_html(fast) == parse_html(django)


class ChooseModelForm(ModelForm):
    class Meta:
        model = Organisation.units.field.model
        fields = ["organisation"]


class ChooseForm(forms.Form):
    organisation = forms.ModelChoiceField(queryset=Organisation.objects.order_by("name"))


@pytest.mark.django_db
@pytest.mark.parametrize("form_class", [ChooseModelForm, ChooseForm, EmployeeImportForm])
def test_every_form_of_the_portal_writes_its_selects_in_one_pass_reading_the_choices_once(form_class):
    """Model forms, plain forms (the employee import's organisation: 400 for an administrator at full scale,
    50 ms through Django's option templates) and filter forms alike: the project's form renderer."""
    OrganisationFactory(name="Stadt <Köln> & Söhne")
    OrganisationFactory(name="Stadt Duisburg")
    administrator = UserFactory(is_superuser=True)  # offered every organisation
    form = form_class(user=administrator) if form_class is EmployeeImportForm else form_class()
    rendered = []
    template_rendered.connect(receiver := lambda sender, template, **kwargs: rendered.append(template.name))
    try:
        with CaptureQueriesContext(connection) as queries:
            html = str(form["organisation"])
    finally:
        template_rendered.disconnect(receiver)
    assert not [name for name in rendered if "select" in name], rendered  # no template per option
    assert len(queries) == 1, [query["sql"] for query in queries]  # no COUNT before the options
    assert "Stadt &lt;Köln&gt; &amp; Söhne" in html
    assert parse_html(html) == parse_html(
        forms.Select.render(
            form.fields["organisation"].widget,
            "organisation",
            None,
            {"id": "id_organisation", "required": True},
        )
    )


def _crispy_option_loop():
    """crispy-bootstrap5's own loop over a field's check boxes, from its template (which the project's copy of
    the template replaces by `check_options`)."""
    from pathlib import Path

    import crispy_bootstrap5
    from django.template import Template

    source = (
        Path(crispy_bootstrap5.__file__).parent / "templates/bootstrap5/layout/radio_checkbox_select.html"
    ).read_text()
    body = source[: source.index("{% if field.errors and inline_class %}")]  # the options' <div>
    loop = body[body.index("{% for group") : body.rindex("{% endfor %}") + len("{% endfor %}")]
    return Template("{% load crispy_forms_filters l10n %}" + loop)


class Choices(forms.Form):
    places = forms.MultipleChoiceField(
        choices=[("1", "Duisburg"), ("2", "Köln & <Bonn>"), ("3", 'Essen "Süd"')],
        widget=forms.CheckboxSelectMultiple(attrs={"class": "x"}),
        help_text="Help",
    )
    grouped = forms.ChoiceField(
        choices=[("NRW", [("a", "Aachen"), ("b", "Bochum")]), ("c", "Celle")], widget=forms.RadioSelect
    )


@pytest.mark.parametrize("data", [None, {"places": ["2", "3"], "grouped": "b"}, {"places": ["9"]}])
@pytest.mark.parametrize("inline_class", ["", "inline"])
def test_check_boxes_are_written_as_crispy_writes_them(data, inline_class):
    from django.template import Context

    from vielfalt.widgets import check_options

    form = Choices(data)
    form.is_valid()
    for name in ("places", "grouped"):
        field = form[name]
        crispy = _crispy_option_loop().render(Context({"field": field, "inline_class": inline_class}))
        assert parse_html(check_options(field, inline_class)) == parse_html(crispy), (name, data)
