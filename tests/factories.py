import factory
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


def hr_user(organisation, **kwargs) -> User:
    return UserFactory(roles=[(organisation, Role.HR)], **kwargs)


def ministry_user(**kwargs) -> User:
    ministry = OrganisationFactory(slug="mais-nrw", name="MAIS NRW", kind=Organisation.Kind.STATE_MINISTRY)
    return UserFactory(roles=[(ministry, Role.MINISTRY)], **kwargs)
