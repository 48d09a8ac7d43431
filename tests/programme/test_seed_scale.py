"""`manage.py seed_scale` at a thousandth of full scale: the counts, idempotence, --reset and its refusals."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from partnerships.models import Agreement, AgreementDocument, Commitment, Signatory, agreement_total
from surveys.models import Campaign, Invitation, Response
from trainings.models import CourseDate, Enrolment
from vielfalt.models import AuditEntry, AuthenticatorApp, Employee, Organisation, User
from vielfalt.programme.management.commands.seed_scale import PARTNER_PREFIX, counts_for

pytestmark = pytest.mark.django_db


def seed(**options) -> str:
    out = StringIO()
    call_command("seed_scale", scale=0.001, force=True, stdout=out, **options)
    return out.getvalue()


def test_counts_at_a_thousandth(postgres, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    output = seed()
    expected = counts_for(0.001)
    partners = Organisation.objects.filter(slug__startswith=PARTNER_PREFIX)
    agreements = Agreement.objects.filter(partner__in=partners)
    assert partners.count() == expected["partners"] == 1
    assert agreements.count() == expected["agreements"] == 2
    # Counted as any other agreement (AgreementCount): the agreement list shows and pages by that total.
    assert agreement_total([partner.pk for partner in partners]) == 2
    assert agreement_total(None) == Agreement.objects.count()
    assert Signatory.objects.filter(agreement__in=agreements).count() == 3 * expected["agreements"]
    assert Commitment.objects.filter(agreement__in=agreements).count() == 5 * expected["agreements"]
    signed = agreements.filter(status__in=[Agreement.Status.SIGNED, Agreement.Status.ENDED])
    assert AgreementDocument.objects.filter(agreement__in=signed, kind="signed").count() == signed.count()
    assert Employee.objects.filter(organisation__in=partners).count() == expected["employees"] == 100
    assert CourseDate.objects.filter(course__organiser__in=partners).count() == expected["course_dates"] == 5
    assert Enrolment.objects.filter(organisation__in=partners).count() == expected["enrolments"] == 200
    campaigns = Campaign.objects.filter(organisation__in=partners)
    assert Response.objects.filter(campaign__in=campaigns).count() == expected["responses"] == 500
    # Responses exist without any invitation: nothing could link one to the other.
    assert not Invitation.objects.filter(campaign__in=campaigns).exists()
    from django.apps import apps

    try:
        procedure = apps.get_model("partnerships", "AnonymisedProcedure")
    except LookupError:
        assert "skipped" in output
    else:
        assert procedure.objects.filter(organisation__in=partners).count() == expected["procedures"] == 2
    audit = AuditEntry.objects.filter(actor_name__startswith=PARTNER_PREFIX)
    assert audit.count() == expected["audit_entries"] == 500
    assert set(audit.values_list("action", flat=True)) >= {"login", "create", "change", "export"}
    assert "employees:" in output and " s" in output  # timings per table


def test_second_run_does_nothing_and_reset_rebuilds(postgres, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    seed()
    first_ids = set(Employee.objects.filter(personnel_number__startswith="SC-").values_list("pk", flat=True))
    assert "nothing to do" in seed()
    assert (
        set(Employee.objects.filter(personnel_number__startswith="SC-").values_list("pk", flat=True))
        == first_ids
    )
    seed(reset=True)
    after = set(Employee.objects.filter(personnel_number__startswith="SC-").values_list("pk", flat=True))
    assert len(after) == 100 and not after & first_ids
    assert agreement_total(None) == Agreement.objects.count() == 2  # counted down and up again
    # --reset deleted the scale data's audit entries too (past the log's refusal of deletes, for them only).
    assert AuditEntry.objects.filter(actor_name__startswith=PARTNER_PREFIX).count() == 500


def test_refuses_with_debug_off_unless_forced(postgres, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_scale", scale=0.001, stdout=StringIO())
    assert not Organisation.objects.filter(slug__startswith=PARTNER_PREFIX).exists()


def test_refuses_sqlite(db, monkeypatch):
    from django.db import connection

    monkeypatch.setattr(connection, "vendor", "sqlite")
    with pytest.raises(CommandError, match="PostgreSQL"):
        call_command("seed_scale", scale=0.001, force=True, stdout=StringIO())


def test_practice_entries_are_added_to_older_scale_data(postgres, settings, tmp_path):
    from partnerships.network.models import PracticeEntry

    settings.MEDIA_ROOT = tmp_path
    seed()
    entries = PracticeEntry.objects.filter(organisation__slug__startswith=PARTNER_PREFIX)
    assert entries.count() == 10
    entries.delete()  # scale data seeded before the partners' network existed
    assert "practice entries" in seed()
    assert entries.count() == 10
    assert "nothing to do" in seed()


def test_the_audit_log_is_added_to_older_scale_data(postgres, settings, tmp_path):
    from tests.helpers import triggers_aside

    settings.MEDIA_ROOT = tmp_path
    seed()
    entries = AuditEntry.objects.filter(actor_name__startswith=PARTNER_PREFIX)
    # Scale data seeded before it had an audit log: its entries deleted past the trigger, as --reset does.
    with triggers_aside("vielfalt.AuditEntry:audit_no_delete"):
        entries._raw_delete(using="default")
    assert not entries.exists()
    assert "the audit log: 500 entries" in seed()
    assert entries.count() == 500


def test_uncounted_agreements_of_older_scale_data_are_counted(postgres, settings, tmp_path):
    from partnerships.models import AgreementCount

    settings.MEDIA_ROOT = tmp_path
    seed()
    partners = Organisation.objects.filter(slug__startswith=PARTNER_PREFIX)
    # Scale data written while the counting triggers stood aside with the others.
    AgreementCount.objects.filter(partner__in=partners).delete()
    assert agreement_total([partner.pk for partner in partners]) == 0
    assert "the agreements' counts: 1 partners" in seed()
    assert agreement_total([partner.pk for partner in partners]) == 2
    assert "nothing to do" in seed()


def test_reset_deletes_what_a_benchmark_gave_the_scale_data(postgres, settings, tmp_path):
    """The benchmarks' own agreement (tests/bench/partnerships.py) is bench-stadt's with the scale data's state,
    and their logins give the scale users second factors: --reset deleted the agreement but not its commitments,
    the users but not their devices, and failed at its commit (a foreign key)."""
    from tests.factories import OrganisationFactory
    from tests.partnerships.factories import AgreementFactory, CommitmentFactory, SignatoryFactory
    from vielfalt.programme.management.commands.seed_scale import STATE_SLUG

    settings.MEDIA_ROOT = tmp_path
    seed()
    agreement = AgreementFactory(
        partner=OrganisationFactory(), state_party=Organisation.objects.get(slug=STATE_SLUG)
    )
    SignatoryFactory(agreement=agreement)
    CommitmentFactory(agreement=agreement)
    # A benchmark's login gives the scale ministry user a static device (tests.bench.scale.logged_in).
    from django_otp.plugins.otp_static.models import StaticDevice

    from vielfalt.programme.management.commands.seed_scale import MINISTRY_USER

    ministry = User.objects.get(username=MINISTRY_USER)
    StaticDevice.objects.create(user=ministry, name="bench").token_set.create(token="12345678")
    AuthenticatorApp.objects.create(user=ministry, name="bench")
    seed(reset=True)
    assert not StaticDevice.objects.filter(user__username=MINISTRY_USER).exists()
    assert not Agreement.objects.filter(pk=agreement.pk).exists()
    assert agreement_total(None) == Agreement.objects.count() == 2
