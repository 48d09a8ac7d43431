"""`{% load portal_i18n %}` is Django's i18n library with a constant `{% translate %}` that keeps its translation
per catalogue (vielfalt.templatetags.portal_i18n): the same output as Django's own tag, in every language; the
portal's templates load it, never Django's library directly."""

import re
from pathlib import Path

import pytest
from django.template import Context, Engine, engines
from django.templatetags.i18n import TranslateNode
from django.utils import translation
from django.utils.translation.reloader import translation_file_changed

from vielfalt.templatetags.portal_i18n import ConstantTranslateNode

TEMPLATES = [
    '{% translate "Employees" %}',
    "{% translate 'Employees' as label %}[{{ label }}]",
    '{% trans "A & B < C" %}',
    '{% translate "100%% sure" %}',
    '{% translate "Search" %} {% translate "Employees" %} {% translate "Search" %}',
    '{% autoescape off %}{% translate "A & B" %}{% endautoescape %}',
    # not constant: Django's own tag
    "{% translate message %}",
    '{% translate "Employees"|upper %}',
    '{% translate "Employees" context "menu" %}',
    '{% translate "Employees" noop %}',
]


def portal(source):
    return engines["django"].from_string("{% load portal_i18n %}" + source)


def django_own(source):
    return Engine(libraries={"i18n": "django.templatetags.i18n"}).from_string("{% load i18n %}" + source)


@pytest.mark.parametrize("source", TEMPLATES)
def test_renders_as_djangos_own_tag_in_every_language_and_in_turn(source):
    ours, theirs = portal(source), django_own(source)
    context = {"message": "Search"}
    for language in ("de", "en", "de", "en"):
        with translation.override(language):
            assert ours.render(context) == theirs.render(Context(context)), (language, source)


def test_only_a_constant_message_without_filters_context_or_noop_keeps_its_translation():
    nodes = [portal(source).template.nodelist[1] for source in TEMPLATES]  # after {% load %}
    kinds = [type(node) for node in nodes]
    assert kinds[:2] == [ConstantTranslateNode] * 2
    assert kinds[6:] == [TranslateNode] * 4


def test_the_translation_is_looked_up_once_per_catalogue_and_again_after_a_reload():
    template = portal('{% translate "Employees" %}')
    node = template.template.nodelist[-1]
    with translation.override("de"):
        assert template.render({}) == "Beschäftigte"
        assert template.render({}) == "Beschäftigte"
    with translation.override("en"):
        assert template.render({}) == "Employees"
    assert len(node.translations) == 2
    # What Django does in development when a .mo file changes: new catalogue objects, so new keys.
    translation_file_changed(sender=None, file_path=Path("locale/de/LC_MESSAGES/django.mo"))
    with translation.override("de"):
        assert template.render({}) == "Beschäftigte"
    assert len(node.translations) == 3


def test_the_portals_templates_load_portal_i18n_not_djangos_library():
    loads = re.compile(r"\{% load ([^%]*) %\}")
    templates = Path(__file__).resolve().parents[2] / "templates"
    plain = [
        str(path.relative_to(templates))
        for path in sorted(templates.rglob("*.*"))
        for match in loads.finditer(path.read_text(encoding="utf-8"))
        if "i18n" in match.group(1).split()
    ]
    assert plain == []
    assert sum("portal_i18n" in path.read_text(encoding="utf-8") for path in templates.rglob("*.html")) > 100
