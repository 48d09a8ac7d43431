import factory
from factory.django import DjangoModelFactory

from partnerships.models import Agreement, Commitment, Side, Signatory
from tests.factories import OrganisationFactory
from vielfalt.models import Organisation


class AgreementFactory(DjangoModelFactory):
    class Meta:
        model = Agreement

    partner = factory.SubFactory(OrganisationFactory)
    state_party = factory.LazyFunction(
        lambda: OrganisationFactory(slug="mais-nrw", name="MAIS NRW", kind=Organisation.Kind.STATE_MINISTRY)
    )
    preamble = "Präambel der Vereinbarung."
    body = "Die Partner vereinbaren Folgendes."
    place = "Duisburg"


class SignatoryFactory(DjangoModelFactory):
    class Meta:
        model = Signatory

    agreement = factory.SubFactory(AgreementFactory)
    side = Side.PARTNER
    name = factory.Sequence(lambda n: f"Person {n}")
    function = "Oberbürgermeister"
    order = factory.Sequence(lambda n: n)


class CommitmentFactory(DjangoModelFactory):
    class Meta:
        model = Commitment

    agreement = factory.SubFactory(AgreementFactory)
    field_of_action = factory.Sequence(lambda n: f"Handlungsfeld {n}")
    description = "Beschäftigte werden interkulturell sensibilisiert."
    indicator = "Geschulte Beschäftigte"
    target_value = 100
    unit = "Personen"
    order = factory.Sequence(lambda n: n)
