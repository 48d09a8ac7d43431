"""WindowCountPaginator: the total read with the page's own rows, and every page number served as Django's
Paginator serves it."""

import pytest
from django.core.paginator import EmptyPage, Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import EmployeeFactory, OrganisationFactory
from vielfalt.models import Employee
from vielfalt.pagination import WindowCountPaginator

pytestmark = pytest.mark.django_db


@pytest.fixture
def employees():
    city = OrganisationFactory()
    for number in range(7):
        EmployeeFactory(organisation=city, last_name=f"Schmidt {number}")
    return Employee.objects.filter(organisation=city).order_by("last_name")


def _page(paginator, number, how):
    try:
        page = getattr(paginator, how)(number)
    except EmptyPage:
        return "empty"
    return page.number, paginator.count, paginator.num_pages, [row.last_name for row in page.object_list]


@pytest.mark.parametrize("number", [None, "", "x", "1", 1, "2", 3, 3.0, "4", 99, "0", -1, 2.5])
def test_get_page_serves_every_number_as_paginator_does(employees, number):
    assert _page(WindowCountPaginator(employees, 3), number, "get_page") == _page(
        Paginator(employees, 3), number, "get_page"
    )


@pytest.mark.parametrize("number", [1, 2, 3, 4, 99, 0, -1])  # ListView hands page() an int
def test_page_serves_every_number_as_paginator_does(employees, number):
    assert _page(WindowCountPaginator(employees, 3), number, "page") == _page(
        Paginator(employees, 3), number, "page"
    )


def test_the_total_comes_with_the_page(employees):
    with CaptureQueriesContext(connection) as queries:
        page = WindowCountPaginator(employees.values("last_name"), 3).get_page("2")
    assert len(queries) == 1
    assert page.paginator.count == 7
    assert [row["last_name"] for row in page.object_list] == ["Schmidt 3", "Schmidt 4", "Schmidt 5"]
    empty = WindowCountPaginator(employees.none(), 3).get_page(None)
    assert empty.paginator.count == 0 and list(empty.object_list) == []
