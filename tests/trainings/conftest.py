import pytest
from django.utils import translation

from tests.factories import EmployeeFactory, OrganisationFactory, UserFactory, hr_user
from tests.trainings.factories import CourseDateFactory, CourseFactory, CourseParticipantFactory
from vielfalt.models import Role


@pytest.fixture
def oberhausen():
    return OrganisationFactory(slug="oberhausen", name="Stadt Oberhausen")


@pytest.fixture
def duisburg():
    return OrganisationFactory(slug="duisburg", name="Stadt Duisburg")


@pytest.fixture
def course(oberhausen, duisburg):
    course = CourseFactory(organiser=oberhausen, title="Interkulturelle Sensibilisierung")
    CourseParticipantFactory(course=course, organisation=duisburg)
    return course


@pytest.fixture
def course_date(course):
    return CourseDateFactory(course=course, capacity=12)


@pytest.fixture
def hr_duisburg(duisburg):
    return hr_user(duisburg, username="hr-duisburg")


@pytest.fixture
def hr_oberhausen(oberhausen):
    return hr_user(oberhausen, username="hr-oberhausen")


@pytest.fixture
def organiser(oberhausen):
    return UserFactory(username="schulung-oberhausen", roles=[(oberhausen, Role.ORGANISER)])


def employees_of(organisation, count, **kwargs):
    return [EmployeeFactory(organisation=organisation, **kwargs) for _ in range(count)]


@pytest.fixture(autouse=True)
def _english():
    """Assertions on messages read the English source text, whatever the translators have done."""
    with translation.override("en"):
        yield


@pytest.fixture
def outbox(settings):
    """The e-mails the tasks send, in memory (tasks run eagerly once the transaction commits)."""
    from django.core import mail

    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    mail.outbox = []
    return mail.outbox
