import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.formats import date_format, get_format
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import DetailView, ListView, TemplateView
from django_filters.views import FilterView

from vielfalt.concurrency import EditConflict
from vielfalt.filters import filter_controls, is_filtered
from vielfalt.models import Job, Role
from vielfalt.pagination import WindowCountPaginator, query_without
from vielfalt.permissions import (
    MinistryMixin,
    RoleRequiredMixin,
    acting_for_partners,
    may,
    may_for_partner,
    organisation_ids,
)
from vielfalt.validation import submitted_id, submitted_year

from .filters import CONCLUDED, AgreementFilter
from .forms import (
    AgreementForm,
    CommitmentForm,
    ProcedureForm,
    ProgressReportForm,
    SignedCopyForm,
    TransitionReasonForm,
    amendable,
    amended_label,
    commitment_formset,
    formset_rows,
    responsible_units,
    signatory_formset,
)
from .models import (
    Agreement,
    AgreementQuerySet,
    AnonymisedProcedure,
    agreement_total,
    commitment_progress,
)
from .selectors import agreement_history, agreement_parts
from .services import (
    ALLOWED_TRANSITIONS,
    PROCEDURE_FIELDS,
    AgreementFrozen,
    agreement_create,
    agreement_request_pdf,
    agreement_sign_problems,
    agreement_transition,
    agreement_update,
    agreements_export_job,
    amendment_create,
    document_download_record,
    document_seal_check,
    procedure_create,
    procedure_update,
    progress_report_create,
    signed_copy_upload,
    transition_needs_reason,
)


class AgreementReaderMixin(RoleRequiredMixin):
    """Ministry staff read and write; partner HR reads its own organisations' agreements."""

    roles = (Role.MINISTRY, Role.HR)


def _requested_job(request):
    """The job named in the query string (`?job=<uuid>`), if the user may see it."""
    try:
        return Job.objects.visible_to(request.user).filter(pk=uuid.UUID(request.GET.get("job", ""))).first()
    except ValueError:
        return None


class AgreementListView(LoginRequiredMixin, FilterView):
    """Open to every signed-in user (it is in everyone's navigation); `visible_to` decides what it lists."""

    template_name = "partnerships/agreement_list.html"
    filterset_class = AgreementFilter
    paginate_by = 25

    def get_queryset(self):
        return Agreement.objects.visible_to(self.request.user).order_by("-updated_at", "-pk")

    def get_paginator(self, queryset, per_page, **kwargs):
        # Rows as dictionaries of the shown columns: a template looks a key up in a dictionary at once, while
        # an attribute of a model instance costs it a failed item lookup first (and the instances their
        # creation). The count is that of the agreements themselves: the rows' join to the partner (an inner
        # join on a required foreign key, so the same number) would have PostgreSQL join every agreement.
        rows = queryset.values(
            "pk", "title", "status", "signed_on", "valid_until", partner_name=F("partner__name")
        )
        if self.request.GET.get("q"):
            # A search counts its matches with the page's own statement (COUNT(*) OVER ()): it looks for its
            # words once, where a COUNT looked for them again.
            return WindowCountPaginator(rows, per_page, **kwargs)
        paginator = super().get_paginator(rows, per_page, **kwargs)
        # Unfiltered, the total comes from the partners' agreement counts (kept by triggers) for the
        # organisations whose agreements the user sees; with a filter, PostgreSQL counts the matches.
        filtered = is_filtered(self.request.GET)
        total = None
        if not filtered:
            total = agreement_total(organisation_ids(self.request.user, AgreementQuerySet.VISIBLE_TO_ROLES))
        paginator.count = queryset.count() if total is None else total
        return paginator

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # The rows' cells as the template's filters would write them (the date filter is
        # `dateformat.format(value, get_format(...))`), as plain values for {% rowformat %}: a loop over
        # variables with lookups and autoescaping was a third of the page's work.
        status_labels = {status: str(label) for status, label in Agreement.Status.choices}
        badges = {"signed": "success", "ended": "secondary"}
        short_date = get_format("SHORT_DATE_FORMAT")
        index_url = reverse("partnerships:index")  # an agreement's page is <index>/<pk>/ (urls.py)
        context["rows"] = [
            (
                f"{index_url}{row['pk']}/",
                row["title"],
                row["status"],
                badges.get(row["status"], "light border"),
                status_labels.get(row["status"], row["status"]),
                row["partner_name"],
                dateformat.format(row["signed_on"], short_date) if row["signed_on"] else "–",
                dateformat.format(row["valid_until"], short_date) if row["valid_until"] else "–",
            )
            for row in context["object_list"]
        ]
        context["filter_query"] = query_without(self.request.GET)
        context["filter_controls"] = filter_controls(self.filterset.form, self.filterset.control_help)
        context["may_edit"] = may(self.request.user, Role.MINISTRY)
        return context


class AgreementFormView(MinistryMixin, View):
    """Create and edit an agreement with its signatories and commitments on one page."""

    template_name = "partnerships/agreement_form.html"

    def get_agreement(self, pk):
        if pk is None:
            return None
        return get_object_or_404(Agreement.objects.visible_to(self.request.user), pk=pk)

    def forms(self, agreement, data=None):
        instance = agreement or Agreement()
        extra = 1 if agreement else 3
        # The partner the form is filled in for: the one submitted, else the agreement's; its org units and
        # agreements are the choices (not every partner's: 2,000 units and 1,100 agreements at full scale).
        partner_id = submitted_id(data.get("partner")) if data is not None else None
        partner_id = partner_id or (agreement.partner_id if agreement else None)
        units = responsible_units(partner_id)
        form = AgreementForm(data, instance=agreement, partner_id=partner_id)
        signatories = signatory_formset(extra)(data, instance=instance, prefix="signatories")
        commitments = commitment_formset(extra)(
            data, instance=instance, prefix="commitments", form_kwargs={"units": units}
        )
        return form, signatories, commitments

    def frozen(self, request, agreement):
        messages.error(request, AgreementFrozen().messages[0])
        return redirect(agreement)

    def get(self, request, pk=None):
        agreement = self.get_agreement(pk)
        if agreement and agreement.is_frozen:
            return self.frozen(request, agreement)
        form, signatories, commitments = self.forms(agreement)
        return self.show(request, agreement, form, signatories, commitments)

    def show(self, request, agreement, form, signatories, commitments, status=200):
        context = {
            "object": agreement,
            "form": form,
            "signatories": signatories,
            "commitments": commitments,
            "has_errors": bool(
                form.errors
                or any(signatories.errors)
                or any(commitments.errors)
                or signatories.non_form_errors()
                or commitments.non_form_errors()
            ),
        }
        return render(request, self.template_name, context, status=status)

    def post(self, request, pk=None):
        agreement = self.get_agreement(pk)
        if agreement and agreement.is_frozen:
            return self.frozen(request, agreement)
        form, signatories, commitments = self.forms(agreement, request.POST)
        valid = form.is_valid() & signatories.is_valid() & commitments.is_valid()
        if valid:
            fields = {name: form.cleaned_data[name] for name in form._meta.fields}
            try:
                if agreement is None:
                    agreement = agreement_create(
                        actor=request.user,
                        signatories=formset_rows(signatories),
                        commitments=formset_rows(commitments),
                        **fields,
                    )
                    messages.success(request, _("The agreement was created."))
                else:
                    agreement = agreement_update(
                        actor=request.user,
                        agreement=agreement,
                        signatories=formset_rows(signatories),
                        commitments=formset_rows(commitments),
                        opened_version=form.opened_version,
                        **fields,
                    )
                    messages.success(request, _("The changes were saved."))
                return redirect(agreement)
            except AgreementFrozen:
                return self.frozen(request, agreement)
            except EditConflict as conflict:
                form.edit_conflict(conflict)
            except ValidationError as error:
                for message in error.messages:
                    form.add_error(None, message)
        return self.show(request, agreement, form, signatories, commitments, status=422)


class PartnerChoicesView(MinistryMixin, View):
    """The choices of the agreement form that depend on its partner, for the partner chosen (htmx, on change):
    the partner's org units into each commitment's select, its signed agreements into "amends"; each select
    back at "none chosen"."""

    def get(self, request):
        partner = get_object_or_404(
            acting_for_partners(request.user, Role.MINISTRY),
            pk=submitted_id(request.GET.get("partner")) or 0,
        )
        forms = submitted_id(request.GET.get("commitments-TOTAL_FORMS")) or 0
        units = [(unit.pk, unit.name) for unit in responsible_units(partner.pk)]
        agreements = [
            (agreement.pk, amended_label(agreement))
            for agreement in amendable(partner.pk, exclude=submitted_id(request.GET.get("agreement")))
        ]
        selects = [(f"id_commitments-{number}-responsible_unit", units) for number in range(min(forms, 50))]
        context = {
            "selects": [*selects, ("id_amends", agreements)],
            # The forms' own placeholder ("- Select an option -", translated).
            "empty_label": CommitmentForm.base_fields["responsible_unit"].empty_label,
        }
        return render(request, "includes/choices_swap.html", context)


class AgreementDetailView(LoginRequiredMixin, DetailView):
    template_name = "partnerships/agreement_detail.html"
    context_object_name = "agreement"

    def get_queryset(self):
        return Agreement.objects.visible_to(self.request.user).select_related("partner", "state_party")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        agreement, user = self.object, self.request.user
        # Plain queries rather than prefetch_related: one agreement needs no IN lists, and the per-query
        # cost of the ORM is what this page spends most on (hence raw statements, see selectors).
        if agreement.amends_id:  # rare: read only when there is one
            agreement.amends = Agreement.objects.select_related("partner").get(pk=agreement.amends_id)
        parts = agreement_parts(agreement.pk)
        signatories = parts["signatories"]
        context["partner_signatories"] = [s for s in signatories if s.side == "partner"]
        context["state_signatories"] = [s for s in signatories if s.side == "state"]
        context["amendments"] = parts["amendments"]
        context["replaced_by"] = next(
            (amendment for amendment in parts["amendments"] if amendment.is_frozen), None
        )
        context["commitments"] = commitment_rows(agreement, parts["commitments"])
        documents = parts["documents"]
        for document in documents:
            document.seal = document_seal_check(document)
        context["documents"] = documents
        context["may_edit"] = may(user, Role.MINISTRY)
        context["may_report"] = (
            agreement.status == Agreement.Status.SIGNED
            and not context["replaced_by"]
            and may(user, Role.HR, agreement.partner_id)
        )
        context["transitions"] = [
            (status, Agreement.Status(status).label)
            for status in Agreement.Status.values
            if status in ALLOWED_TRANSITIONS[agreement.status]
        ]
        if agreement.status == Agreement.Status.READY_FOR_SIGNATURE:
            context["sign_problems"] = agreement_sign_problems(agreement)
        # The upload form is always blank here (its errors show on the upload's own page): written out in the
        # template, with crispy's markup, from the field's label and accepted types.
        context["upload_field"] = SignedCopyForm.base_fields["file"]
        context["history"] = agreement_history(agreement) if context["may_edit"] else []
        context["agreement_type_id"] = ContentType.objects.get_for_model(Agreement).pk
        context["job"] = _requested_job(self.request)
        return context


def commitment_rows(agreement, commitments) -> list[tuple]:
    """(commitment, progress, latest report) for each commitment, as `Commitment.progress` and
    `Commitment.latest_report` would give them, from the commitments of `agreement_parts` (which carry their
    latest report). The commitment carries its table cells as text (`target_cell`, `due_cell`, `report_cell`,
    `progress_badge`, `progress_label`), formatted as the template's filters would: a few values per row
    instead of a dozen nodes."""
    start, today = agreement.signed_on or agreement.valid_from, timezone.localdate()
    badges = {"done": ("success", _("done")), "behind": ("danger", _("behind"))}
    on_track = ("primary", _("on track"))
    rows = []
    for commitment in commitments:
        report = commitment.latest
        progress = commitment_progress(
            target_value=commitment.target_value,
            due_on=commitment.due_on,
            start=start,
            today=today,
            reached=None,
            reported=report.value_reached if report else None,
        )
        target = commitment.indicator
        if commitment.target_value is not None:
            value = f"{floatformat(commitment.target_value, '-2')} {commitment.unit}"
            target = f"{target}: {value}" if target else value
        commitment.target_cell = target or "–"
        commitment.due_cell = (
            date_format(commitment.due_on, "SHORT_DATE_FORMAT") if commitment.due_on else "–"
        )
        if report:
            commitment.report_cell = (
                f"{floatformat(report.value_reached, '-2')} {commitment.unit}"
                f" ({date_format(report.reported_on, 'SHORT_DATE_FORMAT')})"
            )
        commitment.progress_badge, commitment.progress_label = badges.get(progress, on_track)
        rows.append((commitment, progress, report))
    return rows


class AgreementObjectMixin:
    def get_agreement(self, pk):
        return get_object_or_404(
            Agreement.objects.visible_to(self.request.user).select_related("partner"), pk=pk
        )


class AgreementTransitionView(MinistryMixin, AgreementObjectMixin, View):
    """Changes the status. A step back, to "signed" or to "ended" first shows a page that asks for confirmation
    and a reason (the buttons of the agreement page post here without them)."""

    def post(self, request, pk):
        agreement = self.get_agreement(pk)
        to_status = request.POST.get("to", "")
        needs_reason = to_status in Agreement.Status.values and transition_needs_reason(
            agreement.status, to_status
        )
        reason = ""
        if needs_reason:
            form = TransitionReasonForm(
                request.POST if "confirm" in request.POST or "reason" in request.POST else None,
                initial={"to": to_status},
            )
            if not form.is_valid():
                return render(
                    request,
                    "partnerships/transition_confirm.html",
                    {
                        "agreement": agreement,
                        "form": form,
                        "to_label": Agreement.Status(to_status).label,
                        "sign_problems": agreement_sign_problems(agreement)
                        if to_status == Agreement.Status.SIGNED
                        else [],
                    },
                    status=200 if not form.is_bound else 422,
                )
            reason = form.cleaned_data["reason"]
        try:
            agreement_transition(actor=request.user, agreement=agreement, to_status=to_status, reason=reason)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("The status was changed."))
        return redirect(agreement)


class AgreementRenderPdfView(MinistryMixin, AgreementObjectMixin, View):
    def post(self, request, pk):
        agreement = self.get_agreement(pk)
        job = agreement_request_pdf(actor=request.user, agreement=agreement)
        return redirect(f"{agreement.get_absolute_url()}?job={job.pk}#documents")


class AmendmentCreateView(MinistryMixin, AgreementObjectMixin, View):
    def post(self, request, pk):
        agreement = self.get_agreement(pk)
        try:
            amendment = amendment_create(actor=request.user, agreement=agreement)
        except ValidationError as error:
            messages.error(request, error.messages[0])
            return redirect(agreement)
        messages.success(request, _("The amendment was created as a draft."))
        return redirect("partnerships:update", amendment.pk)


class SignedCopyUploadView(MinistryMixin, AgreementObjectMixin, View):
    def post(self, request, pk):
        agreement = self.get_agreement(pk)
        form = SignedCopyForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                signed_copy_upload(actor=request.user, agreement=agreement, upload=form.cleaned_data["file"])
            except ValidationError as error:
                form.add_error("file", error)
            else:
                messages.success(request, _("The signed copy was stored."))
                return redirect(f"{agreement.get_absolute_url()}#documents")
        return render(
            request,
            "partnerships/signed_copy_form.html",
            {"agreement": agreement, "form": form},
            status=422,
        )


class DocumentDownloadView(AgreementReaderMixin, View):
    def get(self, request, pk, document_pk):
        agreement = get_object_or_404(Agreement.objects.visible_to(request.user), pk=pk)
        document = get_object_or_404(agreement.documents.select_related("agreement__partner"), pk=document_pk)
        if not document.file:
            raise Http404
        document_download_record(actor=request.user, document=document)
        return FileResponse(
            document.file.open("rb"),
            as_attachment=True,
            filename=document.file_name,
            content_type="application/pdf",
        )


class ProgressReportCreateView(AgreementReaderMixin, View):
    template_name = "partnerships/progress_report_form.html"

    def get_commitment(self, pk, commitment_pk):
        agreement = get_object_or_404(Agreement.objects.visible_to(self.request.user), pk=pk)
        commitment = get_object_or_404(
            agreement.commitments.select_related("agreement__partner"), pk=commitment_pk
        )
        if not may(self.request.user, Role.HR, agreement.partner_id):
            raise PermissionDenied
        return commitment

    def get(self, request, pk, commitment_pk):
        commitment = self.get_commitment(pk, commitment_pk)
        return self.show(request, commitment, ProgressReportForm())

    def show(self, request, commitment, form, status=200):
        reports = commitment.progress_reports.select_related("reported_by")
        context = {
            "commitment": commitment,
            "agreement": commitment.agreement,
            "form": form,
            "reports": reports,
        }
        return render(request, self.template_name, context, status=status)

    def post(self, request, pk, commitment_pk):
        commitment = self.get_commitment(pk, commitment_pk)
        form = ProgressReportForm(request.POST)
        if form.is_valid():
            try:
                progress_report_create(actor=request.user, commitment=commitment, **form.cleaned_data)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Thank you, the progress was recorded."))
                return redirect(commitment.agreement)
        return self.show(request, commitment, form, status=422)


EXPORT_FILTERS = ("q", "status", "partner_kind", "partner_district", "year")


class ExportView(MinistryMixin, TemplateView):
    """Export of the agreements the list's filters select, as a ZIP built in the background."""

    template_name = "partnerships/export.html"

    def get_context_data(self, filterset=None, **kwargs):
        context = super().get_context_data(**kwargs)
        if filterset is None:
            filterset = self._filterset(self.request.GET or {"status": CONCLUDED})
        context["filter"] = filterset
        context["count"] = filterset.qs.count() if filterset.is_valid() else 0
        context["export_filters"] = [
            (name, value) for name, value in filterset.data.items() if name in EXPORT_FILTERS and value
        ]
        context["filter_query"] = query_without(self.request.GET)
        context["job"] = _requested_job(self.request)
        return context

    def _filterset(self, data) -> AgreementFilter:
        return AgreementFilter(data, queryset=Agreement.objects.visible_to(self.request.user))

    def post(self, request):
        # The job keeps the filters and applies them again: only filters the list's form accepts (a hand-made
        # request's NUL character, unknown status or year is the form again, saying which).
        filterset = self._filterset(request.POST)
        if not filterset.is_valid():
            return self.render_to_response(self.get_context_data(filterset=filterset), status=422)
        filters = {key: value for key, value in request.POST.items() if key in EXPORT_FILTERS and value}
        job = agreements_export_job(actor=request.user, filters=filters)
        messages.info(request, _("The export has started."))
        return redirect(f"{request.path}?{urlencode({**filters, 'job': job.pk})}")


# --- Anonymised application procedures ------------------------------------------------------------------------


class ProcedureListView(AgreementReaderMixin, ListView):
    """Partner HR sees its own procedures, the ministry every partner's; `?organisation=` and `?year=` narrow
    the list (the dashboard links here)."""

    template_name = "partnerships/procedure_list.html"
    paginate_by = 50

    def get_queryset(self):
        procedures = AnonymisedProcedure.objects.visible_to(self.request.user).select_related(
            "organisation", "org_unit"
        )
        organisation = submitted_id(self.request.GET.get("organisation"))
        year = submitted_year(self.request.GET.get("year"))
        if organisation is not None:
            procedures = procedures.filter(organisation_id=organisation)
        if year is not None:
            procedures = procedures.filter(held_on__year=year)
        method = self.request.GET.get("method", "")
        if method in AnonymisedProcedure.Method.values:
            procedures = procedures.filter(method=method)
        return procedures

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # Links only where the form opens (ProcedureFormView): the ministry reads every partner's procedures,
        # and an HR role in its own organisation records none of them.
        user = self.request.user
        context["may_record"] = _recording_organisations(user).exists()
        for procedure in context["object_list"]:
            procedure.may_edit = may_for_partner(user, Role.HR, procedure.organisation)
        context["filter_query"] = query_without(self.request.GET)
        return context


def _recording_organisations(user):
    """The partners whose procedures `user` records: HR of a partner (the ministry itself runs none)."""
    return acting_for_partners(user, Role.HR)


class ProcedureFormView(RoleRequiredMixin, View):
    """Record (or correct) an anonymised procedure; HR only for its own organisations (others: 404). A user
    who is HR of no partner (only of the ministry's own organisation) has no organisation to choose: 403."""

    template_name = "partnerships/procedure_form.html"

    def test_func(self):
        return _recording_organisations(self.request.user).exists()

    def get_object(self):
        if "pk" not in self.kwargs:
            return None
        procedures = AnonymisedProcedure.objects.filter(
            organisation__in=_recording_organisations(self.request.user)
        ).select_related("organisation")
        return get_object_or_404(procedures, pk=self.kwargs["pk"])

    def show(self, form, procedure, status=200):
        context = {"form": form, "procedure": procedure}
        return render(self.request, self.template_name, context, status=status)

    def get(self, request, pk=None):
        procedure = self.get_object()
        form = ProcedureForm(instance=procedure, organisations=_recording_organisations(request.user))
        return self.show(form, procedure)

    def post(self, request, pk=None):
        procedure = self.get_object()
        form = ProcedureForm(
            request.POST, instance=procedure, organisations=_recording_organisations(request.user)
        )
        if form.is_valid():
            data = {name: form.cleaned_data[name] for name in PROCEDURE_FIELDS}
            try:
                if procedure is None:
                    procedure_create(
                        actor=request.user, organisation=form.cleaned_data["organisation"], **data
                    )
                else:
                    procedure_update(
                        actor=request.user, procedure=procedure, opened_version=form.opened_version, **data
                    )
            except EditConflict as conflict:
                form.edit_conflict(conflict)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("The procedure was saved."))
                return redirect("partnerships:procedure_list")
        return self.show(form, procedure, status=422)
