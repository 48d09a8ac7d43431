import factory
from django.db import connection
from factory.django import DjangoModelFactory

from vielfalt.models import Employee, Membership, Organisation, OrgUnit, Role, TargetGroup, User

PASSWORD = "correct-horse-battery"


class OrganisationFactory(DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ["slug"]

    slug = factory.Sequence(lambda n: f"stadt-{n}")
    name = factory.Sequence(lambda n: f"Stadt {n}")
    kind = Organisation.Kind.CITY
    district = Organisation.District.DUESSELDORF


class OrgUnitFactory(DjangoModelFactory):
    class Meta:
        model = OrgUnit

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Amt {n}")


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        """`UserFactory(roles=[(organisation, Role.HR)])`"""
        self.save()
        for organisation, role in extracted or []:
            Membership.objects.create(user=self, organisation=organisation, role=role)


class EmployeeFactory(DjangoModelFactory):
    class Meta:
        model = Employee

    organisation = factory.SubFactory(OrganisationFactory)
    personnel_number = factory.Sequence(lambda n: f"P-{n:06d}")
    first_name = factory.Faker("first_name", locale="de_DE")
    last_name = factory.Faker("last_name", locale="de_DE")
    email = factory.LazyAttribute(lambda e: f"{e.personnel_number.lower()}@example.org")
    org_unit = factory.LazyAttribute(lambda e: OrgUnitFactory(organisation=e.organisation))
    target_group = TargetGroup.PUBLIC_FACING


def many_employees(
    places, count: int = 20_000, *, inactive_every: int = 0, first_name: str = "Lan", last_name: str = "Ng"
) -> None:
    """`count` employees written in plain SQL, in turn of `places` ((organisation, org unit or None) pairs):
    personnel numbers F-1, F-2, …, named "Lan Ng 1", "Lan Ng 2", … (or `first_name`, `last_name`), every `inactive_every`th inactive (0:
    none). Then the trigram indexes' pending entries are merged and the table analysed, as autovacuum would:
    enough employees for PostgreSQL's planner to weigh its indexes by their use (PostgreSQL only)."""
    organisations = [organisation.pk for organisation, _unit in places]
    units = [unit.pk if unit else None for _organisation, unit in places]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO vielfalt_employee (organisation_id, org_unit_id, personnel_number, first_name, last_name,"
            " email, target_group, is_active, created_at, updated_at)"
            " SELECT (%s::bigint[])[1 + n %% %s], (%s::bigint[])[1 + n %% %s], 'F-' || n, %s, %s || ' ' || n, '',"
            " 'other', %s = 0 OR n %% GREATEST(%s, 1) <> 0, now(), now() FROM generate_series(1, %s) n",
            [
                organisations,
                len(places),
                units,
                len(places),
                first_name,
                last_name,
                inactive_every,
                inactive_every,
                count,
            ],
        )
        for column in ("last_name", "first_name", "personnel_number", "email"):
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [f"employee_search_{column}"])
        cursor.execute("ANALYZE vielfalt_employee")


def hr_user(organisation, **kwargs) -> User:
    return UserFactory(roles=[(organisation, Role.HR)], **kwargs)


def ministry_user(**kwargs) -> User:
    ministry = OrganisationFactory(slug="mais-nrw", name="MAIS NRW", kind=Organisation.Kind.STATE_MINISTRY)
    return UserFactory(roles=[(ministry, Role.MINISTRY)], **kwargs)
