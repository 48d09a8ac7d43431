"""The org unit tree in the admin: a unit's parent is offered from its own organisation's units only (the admin
offered every organisation's, 2,041 at full scale with the same names in every city), and no unit is placed
under itself or one of its subunits (a loop, which nothing refused), on PostgreSQL by a trigger too (a
queryset update or two administrators each placing one unit under the other at the same moment saved one)."""

import contextlib
import re
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from tests.conftest import browser_login
from tests.factories import OrganisationFactory, OrgUnitFactory
from tests.helpers import form_data, triggers_aside
from vielfalt.models import OrgUnit

pytestmark = pytest.mark.django_db

LOOP = "Eine Einheit kann nicht sich selbst oder einer ihrer eigenen Untereinheiten untergeordnet werden."


def options(html: str, select_id: str) -> list[str]:
    select = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.findall(r"<option [^>]*>([^<]*)</option>", select)


@pytest.fixture
def cities():
    duisburg = OrganisationFactory(name="Stadt Duisburg")
    essen = OrganisationFactory(name="Stadt Essen")
    for name in ("Bürgeramt", "Ordnungsamt", "Personalamt"):
        OrgUnitFactory(organisation=duisburg, name=name)
    OrgUnitFactory(organisation=essen, name="Bürgeramt")
    return duisburg, essen


def test_a_units_parent_is_offered_from_its_own_organisation(client, superuser, cities):
    duisburg, essen = cities
    client.force_login(superuser)
    unit = duisburg.units.get(name="Personalamt")
    page = client.get(reverse("admin:vielfalt_orgunit_change", args=[unit.pk])).text
    assert options(page, "id_parent")[1:] == ["Bürgeramt", "Ordnungsamt"]  # not itself, not Essen's
    page = client.get(reverse("admin:vielfalt_organisation_change", args=[essen.pk])).text
    assert options(page, "id_units-0-parent")[1:] == ["Bürgeramt"]  # the inline's rows: Essen's own


def test_a_new_units_parent_is_loaded_for_the_organisation_chosen(client, superuser, cities):
    duisburg, essen = cities
    client.force_login(superuser)
    url = reverse("admin:vielfalt_orgunit_add")
    page = client.get(url).text
    assert options(page, "id_parent")[1:] == []
    select = re.search(r'<select name="organisation"[^>]*>', page).group(0)
    assert f'data-hx-get="{reverse("org_unit_choices")}"' in select
    assert "&quot;unit&quot;: &quot;parent&quot;" in select
    choices = client.get(reverse("org_unit_choices"), {"organisation": essen.pk, "unit": "parent"}).text
    assert options(choices, "id_parent")[1:] == ["Bürgeramt"]
    assert client.get(reverse("org_unit_choices"), {"organisation": essen.pk, "unit": "x"}).status_code == 404

    data = {"organisation": essen.pk, "name": "Jugendamt", "parent": duisburg.units.first().pk}
    response = client.post(url, data)
    assert response.status_code == 200 and not OrgUnit.objects.filter(name="Jugendamt").exists()
    assert options(response.text, "id_parent")[1:] == ["Bürgeramt"]  # the organisation submitted
    essens = essen.units.get()
    data["parent"] = essens.pk
    assert client.post(url, data).status_code == 302
    assert OrgUnit.objects.get(name="Jugendamt").parent == essens


def test_a_unit_is_not_placed_under_itself_or_its_subunits(client, superuser, cities):
    duisburg, _essen = cities
    top, middle, bottom = (
        duisburg.units.get(name=name) for name in ("Personalamt", "Ordnungsamt", "Bürgeramt")
    )
    OrgUnit.objects.filter(pk=middle.pk).update(parent=top)
    OrgUnit.objects.filter(pk=bottom.pk).update(parent=middle)
    for parent in (bottom, middle, top):
        top.parent = parent
        with pytest.raises(ValidationError) as refused:
            top.full_clean()
        assert refused.value.message_dict == {"parent": [LOOP]}
    bottom.refresh_from_db()
    bottom.parent = top
    bottom.full_clean()  # a unit moved up its own branch is no loop

    client.force_login(superuser)
    url = reverse("admin:vielfalt_orgunit_change", args=[top.pk])
    data = {**form_data(client.get(url).text, "orgunit_form"), "parent": str(bottom.pk)}
    response = client.post(url, data)
    assert response.status_code == 200 and LOOP in response.text
    assert OrgUnit.objects.get(pk=top.pk).parent is None


def test_a_loop_saved_before_the_check_ends_the_walk_up_the_tree(cities):
    """Units saved in a loop before it was refused: the walk up the tree meets each of them once and ends."""
    duisburg, _essen = cities
    first, second, outside = duisburg.units.all()
    with triggers_aside("vielfalt.OrgUnit:orgunit_no_loop"):  # as saved before PostgreSQL refused them
        OrgUnit.objects.filter(pk=first.pk).update(parent=second)
        OrgUnit.objects.filter(pk=second.pk).update(parent=first)
    outside.parent = first
    outside.full_clean()  # outside the loop: allowed, and the walk ended
    first.refresh_from_db()
    with pytest.raises(ValidationError):
        first.full_clean()  # inside it: refused as a loop


def in_a_loop(units) -> list[str]:
    """The names of `units` that are their own ancestors (each unit's parent chain, read back from the
    database)."""
    looped = []
    for unit in units:
        seen, current = set(), OrgUnit.objects.get(pk=unit.pk)
        while current.parent_id and current.pk not in seen:
            seen.add(current.pk)
            current = OrgUnit.objects.get(pk=current.parent_id)
            if current.pk == unit.pk:
                looped.append(unit.name)
                break
    return looped


def test_postgresql_refuses_a_loop_that_bypasses_clean(postgres, cities):
    """A queryset update (as an import or a shell does) skips OrgUnit.clean: the trigger refuses the loop, in
    one statement as in two."""
    duisburg, _essen = cities
    first, second, third = duisburg.units.all()
    OrgUnit.objects.filter(pk=second.pk).update(parent=first)
    for unit, parent in ((first, first), (first, second)):
        with pytest.raises(IntegrityError, match="placed under itself"), transaction.atomic():
            OrgUnit.objects.filter(pk=unit.pk).update(parent=parent)
    with pytest.raises(IntegrityError, match="placed under itself"), transaction.atomic():
        OrgUnit.objects.filter(pk__in=[first.pk, third.pk]).update(parent=third)  # both, in one statement
    OrgUnit.objects.filter(pk=third.pk).update(parent=second)  # a chain, no loop
    OrgUnit.objects.filter(pk=third.pk).update(name="Bürgeramt Nord")  # a name, the parent unchanged
    assert in_a_loop(duisburg.units.all()) == []


def save_the_unit(unit):
    unit.save()  # the admin's way: every column (organisation and name lock the row against foreign keys)


def update_the_parent(unit):
    OrgUnit.objects.filter(pk=unit.pk).update(parent=unit.parent)  # an import's or a shell's: the parent only


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("write", [save_the_unit, update_the_parent])
def test_two_concurrent_moves_that_together_make_a_loop_save_one_of_them(postgres, cities, write):
    """Two administrators save at the same moment, one A under B, the other B under A: each clean() sees the
    tree without the other's move. One move is saved, the other refused; the tree keeps no loop (without the
    tree lock, two parent updates committed a loop and two saves deadlocked)."""
    duisburg, _essen = cities
    first, second, _third = duisburg.units.all()
    both_cleaned, both_saved = threading.Barrier(2, timeout=10), threading.Barrier(2)
    outcomes = []

    def move(unit, parent):
        try:
            with transaction.atomic():
                unit.parent = parent
                unit.full_clean()
                both_cleaned.wait()  # each passed clean() before either saves
                write(unit)
                with contextlib.suppress(threading.BrokenBarrierError):
                    both_saved.wait(timeout=2)  # gives up when the other waits for this one to commit
        except IntegrityError as error:
            outcomes.append(str(error).splitlines()[0])
        else:
            outcomes.append("saved")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=move, args=(OrgUnit.objects.get(pk=first.pk), second)),
        threading.Thread(target=move, args=(OrgUnit.objects.get(pk=second.pk), first)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == [
        "A unit cannot be placed under itself or under one of its own subunits",
        "saved",
    ]
    assert in_a_loop(duisburg.units.all()) == []


@pytest.mark.django_db(transaction=True)
def test_choosing_the_organisation_of_a_new_unit_loads_its_units_in_the_browser(
    live_server, page, superuser, cities
):
    _duisburg, essen = cities
    messages = []
    page.on("console", lambda message: messages.append(message.text))
    browser_login(page, live_server, superuser)
    page.goto(live_server.url + reverse("admin:vielfalt_orgunit_add"))
    page.select_option("#id_organisation", str(essen.pk))
    page.wait_for_function("document.querySelectorAll('#id_parent option').length == 2")
    assert page.locator("#id_parent option").all_inner_texts()[1:] == ["Bürgeramt"]
    assert page.eval_on_selector("#id_parent", "select => select.selectedIndex") == 0
    assert messages == []


def test_postgresql_refuses_a_parent_of_another_organisation(postgres, cities):
    """A queryset update (an import's, a shell's) skips OrgUnit.clean: a foreign key of the parent and the
    unit's organisation refuses a parent of another organisation, and a unit's move to another organisation
    away from its parent or its subunits."""
    duisburg, essen = cities
    first, second, third = duisburg.units.all()
    essens = essen.units.get()
    with pytest.raises(IntegrityError, match="orgunit_parent_same_organisation"), transaction.atomic():
        OrgUnit.objects.filter(pk=first.pk).update(parent=essens)
    OrgUnit.objects.filter(pk=second.pk).update(parent=third)
    for unit in (third, second):  # the parent of a subunit, a subunit
        with pytest.raises(IntegrityError, match="orgunit_parent_same_organisation"), transaction.atomic():
            OrgUnit.objects.filter(pk=unit.pk).update(organisation=essen)
    OrgUnit.objects.filter(pk=second.pk).update(parent=None, organisation=essen)  # alone, it may move
    OrgUnit.objects.filter(pk=second.pk).update(parent=essens)
    assert OrgUnit.objects.get(pk=second.pk).parent == essens


def _moved_meanwhile(unit, parent):
    """Just before the form's save writes the units, another administrator's move of `unit` under `parent` is
    saved (committed, by another connection): as when both checked their forms at the same moment."""
    done = []

    def move_first(execute, sql, params, many, context):
        if not done and sql.startswith(('UPDATE "vielfalt_orgunit"', 'INSERT INTO "vielfalt_orgunit"')):
            done.append(sql)

            def move():
                try:
                    OrgUnit.objects.filter(pk=unit.pk).update(parent=parent)
                finally:
                    connection.close()

            thread = threading.Thread(target=move)
            thread.start()
            thread.join()
        return execute(sql, params, many, context)

    return connection.execute_wrapper(move_first), done


@pytest.mark.django_db(transaction=True)
def test_a_unit_whose_move_another_save_made_a_loop_meanwhile_gets_the_form_again_with_why(
    postgres, client, superuser, cities
):
    """Two administrators: one places Bürgeramt under Ordnungsamt in the unit's form, the other Ordnungsamt under
    Bürgeramt, saved between the first's check of the form and its save. PostgreSQL refuses the first save (the
    tree's trigger): the form again, with why and the input kept, not a server error; nothing of it saved."""
    duisburg, _essen = cities
    first, second = duisburg.units.get(name="Bürgeramt"), duisburg.units.get(name="Ordnungsamt")
    client.force_login(superuser)
    url = reverse("admin:vielfalt_orgunit_change", args=[first.pk])
    data = form_data(client.get(url).text, "orgunit_form")
    data["parent"] = str(second.pk)
    wrapper, done = _moved_meanwhile(second, first)
    with wrapper:
        response = client.post(url, data)
    assert done and response.status_code == 200
    text = response.text
    assert "Die Organisationseinheiten wurden nicht gespeichert" in text
    assert LOOP in text  # the form's own check, now that the other move is saved
    assert re.search(rf'<option value="{second.pk}" selected>Ordnungsamt</option>', text)
    assert OrgUnit.objects.get(pk=first.pk).parent is None
    assert OrgUnit.objects.get(pk=second.pk).parent == first


@pytest.mark.django_db(transaction=True)
def test_an_organisations_units_that_another_save_made_a_loop_meanwhile_get_the_form_again(
    postgres, client, superuser, cities
):
    """The same race through the units' rows on the organisation's page."""
    duisburg, _essen = cities
    first, second = duisburg.units.get(name="Bürgeramt"), duisburg.units.get(name="Ordnungsamt")
    client.force_login(superuser)
    url = reverse("admin:vielfalt_organisation_change", args=[duisburg.pk])
    data = form_data(client.get(url).text, "organisation_form")
    row = next(
        key[: -len("-id")] for key, value in data.items() if key.endswith("-id") and value == str(first.pk)
    )
    data[f"{row}-parent"] = str(second.pk)
    wrapper, done = _moved_meanwhile(second, first)
    with wrapper:
        response = client.post(url, data)
    assert done and response.status_code == 200
    assert "Die Organisationseinheiten wurden nicht gespeichert" in response.text
    assert OrgUnit.objects.get(pk=first.pk).parent is None
    assert OrgUnit.objects.get(pk=second.pk).parent == first
