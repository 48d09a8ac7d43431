"""Pages of the partners' network. Reading is open to everyone in the programme; what a user sees comes from
the querysets' `visible_to(user)` (another organisation's drafts answer 404); every write goes through a
service that asks `vielfalt.permissions`."""

from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Min, OuterRef, Q, Subquery
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import TemplateView

from vielfalt.audit import audit_record
from vielfalt.collation import sort_key, text_order
from vielfalt.concurrency import EditConflict
from vielfalt.models import AuditEntry, Organisation, Role, User
from vielfalt.pagination import query_without
from vielfalt.permissions import RoleRequiredMixin, may, own_organisation_ids, scope
from vielfalt.validation import add_errors, submitted_id

from ..models import Agreement
from .forms import (
    AnswerEditForm,
    AnswerForm,
    ContactForm,
    DirectoryFilterForm,
    MailSettingsForm,
    MeetingDocumentForm,
    MeetingForm,
    PracticeEntryForm,
    PracticeFilterForm,
    ProfileForm,
    QuestionEditForm,
    QuestionForm,
    RegistrationForm,
    ReturnForm,
    UploadForm,
)
from .ical import ics_file_name, meeting_ics
from .mail import absolute
from .models import (
    AUTHOR_ROLES,
    PROGRAMME_ROLES,
    Answer,
    Attachment,
    ContactPerson,
    Meeting,
    MeetingDocument,
    PartnerProfile,
    PracticeEntry,
    Question,
    Registration,
    field_labels,
)
from .selectors import counted_page, practice_search, snippet_html, with_snippets
from .services import (
    MEETING_FIELDS,
    MEETING_FIELDS_TOLD,
    PRACTICE_FIELDS,
    answer_create,
    answer_delete,
    answer_mark_helpful,
    answer_update,
    attachment_add,
    attachment_delete,
    contact_create,
    contact_delete,
    mail_settings_of,
    mail_settings_update,
    may_change_answer,
    may_change_question,
    may_mark_helpful,
    may_read_documents,
    may_register,
    meeting_cancel,
    meeting_create,
    meeting_document_add,
    meeting_document_delete,
    meeting_update,
    participants_pdf_job,
    practice_allowed_transitions,
    practice_create,
    practice_transition,
    practice_update,
    profile_of,
    profile_update,
    question_ask,
    question_delete,
    question_to_practice,
    question_update,
    registration_cancel,
    registration_create,
    unsubscribe,
)
from .uploads import CONTENT_TYPES

SIGNED = (Agreement.Status.SIGNED, Agreement.Status.ENDED)


class NetworkMixin(RoleRequiredMixin):
    roles = PROGRAMME_ROLES


def _add_errors(form, error: ValidationError, *, field: str | None = None) -> None:
    """A service's errors at the form's fields; with `field`, an error that names no field belongs to it (an
    upload refused for its content is the file field's problem, announced with it)."""
    if field is not None and not hasattr(error, "error_dict"):
        error = ValidationError({field: error.error_list})
    add_errors(form, error)


def _rerender(view_class, request, **kwargs):
    """The GET page of `view_class` again, with bound forms that failed validation (answered with 400)."""
    view = view_class()
    view.setup(request, **kwargs)
    return view.get(request, **kwargs)


def _paginate(request, queryset, per_page=20):
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def _download(file, name: str, kind: str, *, actor, obj, organisation):
    audit_record(actor=actor, action=AuditEntry.Action.DOWNLOAD, obj=obj, organisation=organisation)
    response = FileResponse(
        file.open("rb"), as_attachment=True, filename=name, content_type=CONTENT_TYPES[kind]
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


class NetworkHomeView(NetworkMixin, TemplateView):
    template_name = "network/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        # Explicit orders: Meta.ordering does not apply to the grouped queries of the counts.
        context["meetings"] = (
            Meeting.objects.visible_to(user)
            .upcoming()
            .select_related("host")
            .with_counts()
            .order_by("starts_at", "pk")[:3]
        )
        context["entries"] = (
            PracticeEntry.objects.visible_to(user).published().select_related("organisation")[:5]
        )
        context["questions"] = (
            Question.objects.visible_to(user)
            .open()
            .select_related("organisation")
            .annotate(answer_count=Count("answers"))
            .order_by("-created_at", "-pk")[:5]
        )
        return context


# --- Partner directory ----------------------------------------------------------------------------------------


def _partners():
    signed_since = (
        Agreement.objects.filter(partner=OuterRef("pk"), status__in=SIGNED)
        .order_by()
        .values("partner")
        .annotate(first=Min("signed_on"))
        .values("first")
    )
    return (
        Organisation.objects.partners()  # a link to a partner's page asks `Organisation.is_partner`
        .select_related("network_profile")
        .annotate(signed_since=Subquery(signed_since))
    )


class PartnerListView(NetworkMixin, View):
    """The directory. The programme package extends it (courses a partner opens to others, the target groups of
    its courses), since those come from the trainings app: see vielfalt/programme/network.py."""

    form_class = DirectoryFilterForm
    template_name = "network/partner_list.html"

    def filter_partners(self, partners, data):
        for word in data["q"].split()[:5]:
            partners = partners.filter(
                Q(name__icontains=word) | Q(network_profile__description__icontains=word)
            )
        if data["district"]:
            partners = partners.filter(district=data["district"])
        if data["kind"]:
            partners = partners.filter(kind=data["kind"])
        if data["field"]:
            partners = partners.filter(network_profile__fields_of_action__icontains=f'"{data["field"]}"')
        if data["visits"]:
            partners = partners.filter(
                Q(network_profile__open_for_visits=True)
                | Q(pk__in=ContactPerson.objects.filter(open_for_visits=True).values("organisation_id"))
            )
        return partners

    def get(self, request):
        form = self.form_class(request.GET or None)
        partners = _partners().order_by(*text_order(Organisation, "name", "pk"))
        if form.is_valid():
            partners = self.filter_partners(partners, form.cleaned_data)
        elif form.is_bound:
            # A refused filter (its error shown at the field) finds nothing, as the portal's other lists.
            partners = partners.none()
        page = _paginate(request, partners, 25)
        return render(
            request,
            self.template_name,
            {
                "form": form,
                "page_obj": page,
                "partners": page.object_list,
                "filter_query": query_without(request.GET),
            },
        )


class PartnerDetailView(NetworkMixin, View):
    template_name = "network/partner_detail.html"

    def get_context_data(self, partner) -> dict:
        user = self.request.user
        agreements = list(
            Agreement.objects.visible_to(user)
            .filter(partner=partner, status__in=SIGNED)
            .prefetch_related("commitments")
            .order_by("-signed_on")
        )
        commitments = sorted(
            {c.field_of_action for a in agreements for c in a.commitments.all()}, key=sort_key
        )
        return {
            "partner": partner,
            "profile": getattr(partner, "network_profile", None),
            "contacts": partner.network_contacts.all(),
            "agreements": agreements,
            "commitment_fields": commitments,
            "entries": PracticeEntry.objects.visible_to(user).published().filter(organisation=partner)[:20],
            "meetings": Meeting.objects.visible_to(user).upcoming().filter(host=partner)[:5],
            "may_edit": may(user, AUTHOR_ROLES, partner),
        }

    def get(self, request, slug):
        partner = get_object_or_404(_partners(), slug=slug)
        return render(request, self.template_name, self.get_context_data(partner))


class ProfileEditView(NetworkMixin, View):
    """The organisation's own HR (and the ministry) edit the profile and its contact persons."""

    def get_partner(self, slug):
        partner = get_object_or_404(Organisation.objects.partners(), slug=slug)
        if not may(self.request.user, AUTHOR_ROLES, partner):
            raise Http404
        return partner

    def render(self, partner, form=None, contact_form=None):
        profile = profile_of(partner)
        form = form or ProfileForm(
            instance=profile,
            initial={
                "kind": partner.kind,
                "district": partner.district,
                "description": profile.description,
                "fields_of_action": profile.fields_of_action,
                "open_for_visits": profile.open_for_visits,
                "website": profile.website,
            },
        )
        return render(
            self.request,
            "network/profile_form.html",
            {
                "partner": partner,
                "form": form,
                "contact_form": contact_form or ContactForm(prefix="contact"),
                "contacts": partner.network_contacts.all(),
            },
        )

    def get(self, request, slug):
        return self.render(self.get_partner(slug))

    def post(self, request, slug):
        partner = self.get_partner(slug)
        if "contact-name" in request.POST:
            contact_form = ContactForm(request.POST, prefix="contact")
            if contact_form.is_valid():
                data = dict(contact_form.cleaned_data)
                consent = data.pop("consent")
                try:
                    contact_create(actor=request.user, organisation=partner, consent=consent, **data)
                except ValidationError as error:
                    _add_errors(contact_form, error)
                else:
                    messages.success(request, _("The contact person was added."))
                    return redirect("network:profile_edit", slug=slug)
            return self.render(partner, contact_form=contact_form)
        form = ProfileForm(request.POST)  # its version is in the data; profile_update reads the profile
        if form.is_valid():
            try:
                profile_update(
                    actor=request.user,
                    organisation=partner,
                    opened_version=form.opened_version,
                    **form.cleaned_data,
                )
            except EditConflict as conflict:
                form.edit_conflict(conflict)
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(request, _("The profile was saved."))
                return redirect("network:partner_detail", slug=slug)
        return self.render(partner, form=form)


class ContactDeleteView(NetworkMixin, View):
    def post(self, request, pk):
        contact = get_object_or_404(ContactPerson.objects.select_related("organisation"), pk=pk)
        if not may(request.user, AUTHOR_ROLES, contact.organisation_id):
            raise Http404
        contact_delete(actor=request.user, contact=contact)
        messages.success(request, _("The contact person was removed everywhere."))
        return redirect("network:profile_edit", slug=contact.organisation.slug)


# --- Practice library -----------------------------------------------------------------------------------------


class PracticeListView(NetworkMixin, View):
    def get(self, request):
        user = request.user
        form = PracticeFilterForm(request.GET or None)
        visible = PracticeEntry.objects.visible_to(user)
        entries = visible.published().select_related("organisation")
        text = ""
        if form.is_valid():
            data = form.cleaned_data
            text = data["q"]
            if data["field"]:
                entries = entries.filter(field_of_action=data["field"])
            if data["target_group"]:
                entries = entries.filter(target_groups__icontains=f'"{data["target_group"]}"')
            entries = practice_search(entries, text)
        elif form.is_bound:
            # A refused filter (its error shown at the field) finds nothing, as the portal's other lists.
            entries = entries.none()
        page = counted_page(
            entries.defer(
                "what_was_done", "effort", "what_worked", "what_did_not_work", "search_vector", "rank_vector"
            ),
            request.GET.get("page"),
            rows=lambda rows: with_snippets(rows, text),
        )
        rows = [(entry, snippet_html(getattr(entry, "headline", None))) for entry in page.object_list]
        # Entries on their way: the ministry sees those waiting for its review, authors their own unpublished ones.
        in_progress = PracticeEntry.objects.unpublished_visible_to(user)
        if may(user, Role.MINISTRY):
            in_progress = in_progress.filter(status=PracticeEntry.Status.SUBMITTED)
        in_progress = (
            in_progress.select_related("organisation")
            .only("pk", "title", "status", "updated_at", "organisation__name")
            .order_by("-updated_at")[:20]
        )
        return render(
            request,
            "network/practice_list.html",
            {
                "form": form,
                "page_obj": page,
                "rows": rows,
                "query": text,
                "in_progress": in_progress,
                "may_write": may(user, AUTHOR_ROLES),
                "filter_query": query_without(request.GET),
            },
        )


def _practice_fields(form) -> dict:
    return {name: form.cleaned_data[name] for name in PRACTICE_FIELDS}


class PracticeCreateView(RoleRequiredMixin, View):
    roles = AUTHOR_ROLES

    def get(self, request):
        return render(request, "network/practice_form.html", {"form": PracticeEntryForm(user=request.user)})

    def post(self, request):
        form = PracticeEntryForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                entry = practice_create(
                    actor=request.user,
                    organisation=form.cleaned_data["organisation"],
                    **_practice_fields(form),
                )
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(
                    request, _("The draft was saved. Add attachments and submit it when it is ready.")
                )
                return redirect(entry)
        return render(request, "network/practice_form.html", {"form": form})


def _visible_entry(request, pk):
    return get_object_or_404(
        PracticeEntry.objects.visible_to(request.user).select_related("organisation"), pk=pk
    )


class PracticeDetailView(NetworkMixin, View):
    def get(self, request, pk, upload_form=None, return_form=None):
        entry = _visible_entry(request, pk)
        user = request.user
        may_edit = may(user, AUTHOR_ROLES, entry.organisation_id) and (
            entry.is_editable or may(user, Role.MINISTRY)
        )
        context = {
            "entry": entry,
            "attachments": entry.attachments.all(),
            "transitions": practice_allowed_transitions(user, entry),
            "may_edit": may_edit,
            "upload_form": upload_form or UploadForm(),
            "return_form": return_form or ReturnForm(),
            "contact": entry.contact,
            "commitment": entry.commitment,
            "questions": entry.source_questions.all(),
        }
        return render(
            request,
            "network/practice_detail.html",
            context,
            status=400 if upload_form or return_form else 200,
        )


class PracticeEditView(NetworkMixin, View):
    def get_entry(self, pk):
        entry = _visible_entry(self.request, pk)
        if not may(self.request.user, AUTHOR_ROLES, entry.organisation_id):
            raise Http404
        return entry

    def get(self, request, pk):
        entry = self.get_entry(pk)
        form = PracticeEntryForm(instance=entry, user=request.user, organisation=entry.organisation)
        return render(request, "network/practice_form.html", {"form": form, "entry": entry})

    def post(self, request, pk):
        entry = self.get_entry(pk)
        form = PracticeEntryForm(
            request.POST, instance=entry, user=request.user, organisation=entry.organisation
        )
        if form.is_valid():
            try:
                practice_update(
                    actor=request.user,
                    entry=entry,
                    opened_version=form.opened_version,
                    **_practice_fields(form),
                )
            except EditConflict as conflict:
                form.edit_conflict(conflict)
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(request, _("The changes were saved."))
                return redirect(entry)
        entry.refresh_from_db()
        return render(request, "network/practice_form.html", {"form": form, "entry": entry})


TRANSITION_MESSAGES = {
    PracticeEntry.Status.SUBMITTED: gettext_lazy("The entry was submitted to the ministry."),
    PracticeEntry.Status.PUBLISHED: gettext_lazy("The entry was published."),
    PracticeEntry.Status.RETURNED: gettext_lazy("The entry was returned with your comment."),
    PracticeEntry.Status.DRAFT: gettext_lazy("The submission was withdrawn."),
}


class PracticeTransitionView(NetworkMixin, View):
    def post(self, request, pk):
        entry = _visible_entry(request, pk)
        to = request.POST.get("to", "")
        return_form = ReturnForm(request.POST) if to == PracticeEntry.Status.RETURNED else None
        if return_form is not None and not return_form.is_valid():
            return _rerender(PracticeDetailView, request, pk=pk, return_form=return_form)
        try:
            practice_transition(
                actor=request.user,
                entry=entry,
                to=to,
                comment=return_form.cleaned_data["comment"] if return_form else "",
            )
        except PermissionDenied as error:
            raise Http404 from error
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(entry)
        messages.success(request, TRANSITION_MESSAGES[to])
        return redirect(entry)


class AttachmentUploadView(NetworkMixin, View):
    def post(self, request, pk):
        entry = _visible_entry(request, pk)
        if not may(request.user, AUTHOR_ROLES, entry.organisation_id):
            raise Http404
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                attachment_add(actor=request.user, entry=entry, upload=form.cleaned_data["file"])
            except ValidationError as error:
                _add_errors(form, error, field="file")
            else:
                messages.success(request, _("The attachment was added."))
                return redirect(entry)
        return _rerender(PracticeDetailView, request, pk=pk, upload_form=form)


def _visible_attachment(request, pk, attachment_pk):
    entries = PracticeEntry.objects.visible_to(request.user)
    return get_object_or_404(
        Attachment.objects.select_related("entry__organisation").filter(entry__in=entries, entry_id=pk),
        pk=attachment_pk,
    )


class AttachmentDownloadView(NetworkMixin, View):
    def get(self, request, pk, attachment_pk):
        attachment = _visible_attachment(request, pk, attachment_pk)
        return _download(
            attachment.file,
            attachment.name,
            attachment.kind,
            actor=request.user,
            obj=attachment,
            organisation=attachment.entry.organisation,
        )


class AttachmentDeleteView(NetworkMixin, View):
    def post(self, request, pk, attachment_pk):
        attachment = _visible_attachment(request, pk, attachment_pk)
        try:
            attachment_delete(actor=request.user, attachment=attachment)
        except PermissionDenied as error:
            raise Http404 from error
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("The attachment was removed."))
        return redirect(attachment.entry)


# --- Network meetings -----------------------------------------------------------------------------------------


class MeetingListView(NetworkMixin, View):
    def get(self, request):
        meetings = Meeting.objects.visible_to(request.user).select_related("host").with_counts()
        past = request.GET.get("past") == "1"
        # An explicit order: Meta.ordering does not apply to the grouped query of `with_counts()`, and a page
        # of an unordered list may repeat or skip meetings. A cancelled meeting not yet over is listed among the
        # upcoming ones (marked cancelled): those who had registered look for it there.
        meetings = (
            meetings.exclude(ends_at__gte=timezone.now()).order_by("-starts_at", "-pk")
            if past
            else meetings.filter(ends_at__gte=timezone.now()).order_by("starts_at", "pk")
        )
        page = _paginate(request, meetings)
        return render(
            request,
            "network/meeting_list.html",
            {
                "page_obj": page,
                "meetings": page.object_list,
                "past": past,
                "may_write": may(request.user, AUTHOR_ROLES),
                "filter_query": query_without(request.GET),
            },
        )


def _meeting_fields(form) -> dict:
    return {name: form.cleaned_data[name] for name in MEETING_FIELDS}


class MeetingCreateView(RoleRequiredMixin, View):
    roles = AUTHOR_ROLES

    def get(self, request):
        return render(
            request, "network/meeting_form.html", {"form": MeetingForm(user=request.user, creating=True)}
        )

    def post(self, request):
        form = MeetingForm(request.POST, user=request.user, creating=True)
        if form.is_valid():
            try:
                meeting = meeting_create(
                    actor=request.user,
                    host=form.cleaned_data["organisation"],
                    invited=form.cleaned_data["invited"],
                    **_meeting_fields(form),
                )
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(request, _("The meeting was announced."))
                return redirect(meeting)
        return render(request, "network/meeting_form.html", {"form": form})


def _visible_meeting(request, pk):
    return get_object_or_404(Meeting.objects.visible_to(request.user).select_related("host"), pk=pk)


class MeetingHostMixin(NetworkMixin):
    def get_meeting(self, pk):
        meeting = _visible_meeting(self.request, pk)
        if not may(self.request.user, AUTHOR_ROLES, meeting.host_id):
            raise Http404
        return meeting


class MeetingEditView(MeetingHostMixin, View):
    def get(self, request, pk):
        meeting = self.get_meeting(pk)
        form = MeetingForm(instance=meeting, user=request.user, creating=False)
        return render(request, "network/meeting_form.html", {"form": form, "meeting": meeting})

    def post(self, request, pk):
        meeting = self.get_meeting(pk)
        form = MeetingForm(request.POST, instance=meeting, user=request.user, creating=False)
        if form.is_valid():
            try:
                updated = meeting_update(
                    actor=request.user,
                    meeting=meeting,
                    invited=form.cleaned_data["invited"],
                    opened_version=form.opened_version,
                    **_meeting_fields(form),
                )
            except EditConflict as conflict:
                form.edit_conflict(conflict)
            except ValidationError as error:
                _add_errors(form, error)
            else:
                if set(form.changed_data) & MEETING_FIELDS_TOLD and updated.told_of_changes().exists():
                    messages.success(
                        request,
                        _(
                            "The changes were saved; everyone registered is being told the new time or place by "
                            "e-mail."
                        ),
                    )
                else:
                    messages.success(request, _("The changes were saved."))
                return redirect(meeting)
        meeting.refresh_from_db()
        return render(request, "network/meeting_form.html", {"form": form, "meeting": meeting})


class MeetingCancelView(MeetingHostMixin, View):
    def post(self, request, pk):
        meeting = self.get_meeting(pk)
        try:
            meeting_cancel(actor=request.user, meeting=meeting)
        except ValidationError as refused:
            messages.error(request, " ".join(refused.messages))
        else:
            messages.success(request, _("The meeting was cancelled; everyone registered is told."))
        return redirect(meeting)


class MeetingDetailView(NetworkMixin, View):
    def get(self, request, pk, form=None, document_form=None):
        meeting = _visible_meeting(request, pk)
        user = request.user
        is_host = may(user, AUTHOR_ROLES, meeting.host_id)
        registrations = meeting.registrations.exclude(status=Registration.Status.CANCELLED).select_related(
            "organisation"
        )
        if not is_host:
            registrations = registrations.filter(scope(user, PROGRAMME_ROLES))
        counts = meeting.registrations.aggregate(
            seated=Count("pk", filter=Q(status=Registration.Status.SEATED)),
            waiting=Count("pk", filter=Q(status=Registration.Status.WAITING)),
        )
        readable = may_read_documents(user, meeting)
        may_register_here = meeting.registration_open and (
            may(user, Role.MINISTRY) or any(may_register(user, meeting, pk) for pk in _own_ids(user))
        )
        context = {
            "meeting": meeting,
            "registrations": registrations,
            "counts": counts,
            "is_host": is_host,
            "form": form or (RegistrationForm(user=user) if may_register_here else None),
            "documents": meeting.documents.all() if readable else None,
            "document_form": document_form
            or (MeetingDocumentForm() if is_host and not meeting.is_cancelled else None),
            "invited": meeting.invited.all() if not meeting.open_to_all else None,
        }
        return render(
            request, "network/meeting_detail.html", context, status=400 if form or document_form else 200
        )


def _own_ids(user):
    return own_organisation_ids(user, PROGRAMME_ROLES)


class MeetingRegisterView(NetworkMixin, View):
    def post(self, request, pk):
        meeting = _visible_meeting(request, pk)
        form = RegistrationForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            email = data["email"].strip().lower()
            colleague = (
                User.objects.filter(email__iexact=email, is_active=True).first()
                if email == (request.user.email or "").lower()
                else None
            )
            try:
                registration = registration_create(
                    actor=request.user,
                    meeting=meeting,
                    organisation=data["organisation"],
                    name=data["name"],
                    email=email,
                    user=request.user if colleague else None,
                )
            except PermissionDenied as error:
                form.add_error("organisation", str(error))
            except ValidationError as error:
                _add_errors(form, error)
            else:
                if registration.status == Registration.Status.SEATED:
                    messages.success(
                        request, _("Registered: the seat is confirmed. An invitation was sent by e-mail.")
                    )
                else:
                    messages.warning(
                        request,
                        _("The meeting is full: %(name)s is on the waiting list at position %(position)s.")
                        % {"name": registration.name, "position": registration.waiting_position},
                    )
                return redirect(meeting)
        return _rerender(MeetingDetailView, request, pk=pk, form=form)


class RegistrationCancelView(NetworkMixin, View):
    def post(self, request, pk, registration_pk):
        meeting = _visible_meeting(request, pk)
        registration = get_object_or_404(meeting.registrations, pk=registration_pk)
        try:
            registration_cancel(actor=request.user, registration=registration)
        except PermissionDenied as error:
            raise Http404 from error
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("The registration was cancelled."))
        return redirect(meeting)


class MeetingIcsView(NetworkMixin, View):
    def get(self, request, pk):
        meeting = _visible_meeting(request, pk)
        content = meeting_ics(meeting, url=absolute(meeting.get_absolute_url()))
        response = HttpResponse(content, content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{ics_file_name(meeting)}"'
        return response


class MeetingDocumentUploadView(MeetingHostMixin, View):
    def post(self, request, pk):
        meeting = self.get_meeting(pk)
        form = MeetingDocumentForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                meeting_document_add(
                    actor=request.user,
                    meeting=meeting,
                    kind=form.cleaned_data["kind"],
                    upload=form.cleaned_data["file"],
                )
            except ValidationError as error:
                _add_errors(form, error, field="file")
            else:
                messages.success(request, _("The document was uploaded."))
                return redirect(meeting)
        return _rerender(MeetingDetailView, request, pk=pk, document_form=form)


class MeetingDocumentDownloadView(NetworkMixin, View):
    def get(self, request, pk, document_pk):
        meeting = _visible_meeting(request, pk)
        if not may_read_documents(request.user, meeting):
            raise Http404
        document = get_object_or_404(MeetingDocument.objects.filter(meeting=meeting), pk=document_pk)
        return _download(
            document.file,
            document.name,
            document.file_type,
            actor=request.user,
            obj=document,
            organisation=meeting.host,
        )


class MeetingDocumentDeleteView(MeetingHostMixin, View):
    def post(self, request, pk, document_pk):
        meeting = self.get_meeting(pk)
        document = get_object_or_404(MeetingDocument.objects.filter(meeting=meeting), pk=document_pk)
        try:
            meeting_document_delete(actor=request.user, document=document)
        except PermissionDenied as error:
            raise Http404 from error
        messages.success(request, _("The document was removed."))
        return redirect(meeting)


class MeetingParticipantsView(MeetingHostMixin, View):
    def post(self, request, pk):
        meeting = self.get_meeting(pk)
        try:
            return redirect(participants_pdf_job(actor=request.user, meeting=meeting))
        except ValidationError as error:
            messages.error(request, error.messages[0])
            return redirect(meeting)


# --- Questions to the network ---------------------------------------------------------------------------------


class QuestionListView(NetworkMixin, View):
    def get(self, request):
        questions = (
            Question.objects.visible_to(request.user)
            .select_related("organisation")
            .annotate(answer_count=Count("answers"))
            .order_by("-created_at", "-pk")
        )
        show = request.GET.get("show", "")
        if show == "open":
            questions = questions.open()
        page = _paginate(request, questions)
        return render(
            request,
            "network/question_list.html",
            {
                "page_obj": page,
                "questions": page.object_list,
                "show": show,
                "filter_query": query_without(request.GET),
            },
        )


class QuestionCreateView(NetworkMixin, View):
    def get(self, request):
        return render(request, "network/question_form.html", {"form": QuestionForm(user=request.user)})

    def post(self, request):
        form = QuestionForm(request.POST, user=request.user)
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                question = question_ask(actor=request.user, organisation=data.pop("organisation"), **data)
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(
                    request, _("Your question was posted. You get an e-mail when someone answers.")
                )
                return redirect(question)
        return render(request, "network/question_form.html", {"form": form})


class QuestionDetailView(NetworkMixin, View):
    def get(self, request, pk, form=None):
        question = get_object_or_404(
            Question.objects.visible_to(request.user).select_related("organisation", "asked_by"), pk=pk
        )
        # The entry made from the thread, if the user may read it: a draft (or one returned) is its
        # organisation's and the ministry's until it is published.
        practice_entry = (
            PracticeEntry.objects.visible_to(request.user).filter(pk=question.practice_entry_id).first()
            if question.practice_entry_id
            else None
        )
        answers = list(question.answers.select_related("organisation", "author"))
        for answer in answers:
            answer.may_change = may_change_answer(request.user, answer)
        context = {
            "question": question,
            "practice_entry": practice_entry,
            "answers": answers,
            "may_change": may_change_question(request.user, question),
            "form": form or AnswerForm(user=request.user),
            "may_mark": may_mark_helpful(request.user, question),
            "may_convert": may(request.user, Role.MINISTRY),
        }
        return render(request, "network/question_detail.html", context, status=400 if form else 200)


class AnswerCreateView(NetworkMixin, View):
    def post(self, request, pk):
        question = get_object_or_404(Question.objects.visible_to(request.user), pk=pk)
        form = AnswerForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                answer = answer_create(
                    actor=request.user,
                    question=question,
                    organisation=form.cleaned_data["organisation"],
                    body=form.cleaned_data["body"],
                )
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(request, _("Thank you: your answer was posted."))
                return redirect(f"{question.get_absolute_url()}#answer-{answer.pk}")
        return _rerender(QuestionDetailView, request, pk=pk, form=form)


class QuestionEditView(NetworkMixin, View):
    """The asker edits the question; the ministry moderates. Anyone else: 404."""

    def get_question(self, pk):
        question = get_object_or_404(
            Question.objects.visible_to(self.request.user).select_related("organisation"), pk=pk
        )
        if not may_change_question(self.request.user, question):
            raise Http404
        return question

    def render(self, question, form, status=200):
        return render(
            self.request, "network/question_edit.html", {"question": question, "form": form}, status=status
        )

    def get(self, request, pk):
        question = self.get_question(pk)
        return self.render(question, QuestionEditForm(instance=question))

    def post(self, request, pk):
        question = self.get_question(pk)
        form = QuestionEditForm(request.POST, instance=Question.objects.get(pk=question.pk))
        if form.is_valid():
            try:
                question_update(
                    actor=request.user,
                    question=question,
                    **{name: form.cleaned_data[name] for name in form.Meta.fields},
                )
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(request, _("The question was changed."))
                return redirect(question)
        return self.render(question, form, status=400)


class QuestionDeleteView(NetworkMixin, View):
    def post(self, request, pk):
        question = get_object_or_404(Question.objects.visible_to(request.user), pk=pk)
        try:
            question_delete(actor=request.user, question=question)
        except PermissionDenied as error:
            raise Http404 from error
        messages.success(request, _("The question and its answers were deleted."))
        return redirect("network:question_list")


def _changeable_answer(request, pk) -> Answer:
    questions = Question.objects.visible_to(request.user)
    answer = get_object_or_404(
        Answer.objects.filter(question__in=questions).select_related("question", "organisation"), pk=pk
    )
    if not may_change_answer(request.user, answer):
        raise Http404
    return answer


class AnswerEditView(NetworkMixin, View):
    """The author edits the answer; the ministry moderates. Anyone else: 404."""

    def render(self, answer, form, status=200):
        return render(
            self.request,
            "network/answer_edit.html",
            {"answer": answer, "question": answer.question, "form": form},
            status=status,
        )

    def get(self, request, pk):
        answer = _changeable_answer(request, pk)
        return self.render(answer, AnswerEditForm(instance=answer))

    def post(self, request, pk):
        answer = _changeable_answer(request, pk)
        form = AnswerEditForm(request.POST, instance=Answer.objects.get(pk=answer.pk))
        if form.is_valid():
            try:
                answer_update(actor=request.user, answer=answer, body=form.cleaned_data["body"])
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(request, _("The answer was changed."))
                return redirect(f"{answer.question.get_absolute_url()}#answer-{answer.pk}")
        return self.render(answer, form, status=400)


class AnswerDeleteView(NetworkMixin, View):
    def post(self, request, pk):
        answer = _changeable_answer(request, pk)
        answer_delete(actor=request.user, answer=answer)
        messages.success(request, _("The answer was deleted."))
        return redirect(answer.question)


class HelpfulAnswerView(NetworkMixin, View):
    def post(self, request, pk):
        question = get_object_or_404(Question.objects.visible_to(request.user), pk=pk)
        answer_pk = request.POST.get("answer", "")
        answer = (
            get_object_or_404(Answer.objects.filter(question=question), pk=submitted_id(answer_pk) or 0)
            if answer_pk
            else None
        )
        try:
            answer_mark_helpful(actor=request.user, question=question, answer=answer)
        except PermissionDenied as error:
            raise Http404 from error
        messages.success(request, _("Marked as helpful.") if answer else _("The mark was taken back."))
        return redirect(question)


class QuestionToPracticeView(RoleRequiredMixin, View):
    roles = (Role.MINISTRY,)

    def post(self, request, pk):
        question = get_object_or_404(Question.objects.visible_to(request.user), pk=pk)
        try:
            entry = question_to_practice(actor=request.user, question=question)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(question)
        messages.success(request, _("A draft practice entry was made from this thread; edit and publish it."))
        return redirect(entry)


# --- E-mail settings and unsubscribe --------------------------------------------------------------------------


class MailSettingsView(NetworkMixin, View):
    def get(self, request):
        settings = mail_settings_of(request.user)
        form = MailSettingsForm(
            initial={"answers": settings.answers, "weekly_digest": settings.weekly_digest}
        )
        return render(
            request,
            "network/mail_settings.html",
            {"form": form, "digest_failed_at": settings.digest_failed_at if settings.weekly_digest else None},
        )

    def post(self, request):
        form = MailSettingsForm(request.POST)
        if form.is_valid():
            mail_settings_update(actor=request.user, user=request.user, **form.cleaned_data)
            messages.success(request, _("Your e-mail settings were saved."))
            return redirect("network:mail_settings")
        return render(request, "network/mail_settings.html", {"form": form})


@method_decorator(csrf_exempt, name="dispatch")
class UnsubscribeView(View):
    """One click, no login: GET shows a button (link scanners must not unsubscribe anyone), POST unsubscribes
    (also the mail client's RFC 8058 one-click POST, which carries no CSRF token: the signed token is the
    proof)."""

    def get(self, request, token):
        from .mail import read_unsubscribe_token

        try:
            _user, kind = read_unsubscribe_token(token)
        except (signing.BadSignature, User.DoesNotExist):
            return render(request, "network/unsubscribe.html", {"invalid": True}, status=404)
        return render(request, "network/unsubscribe.html", {"kind": kind, "token": token})

    def post(self, request, token):
        try:
            result = unsubscribe(token=token)
        except (signing.BadSignature, User.DoesNotExist):
            return render(request, "network/unsubscribe.html", {"invalid": True}, status=404)
        return render(request, "network/unsubscribe.html", {"done": True, "kind": result.kind})


# --- The start page's part ------------------------------------------------------------------------------------


def own_fields_of_action(user) -> list[str]:
    """The fields of action in the profiles of the organisations the user belongs to (empty: all fields)."""
    ids = own_organisation_ids(user, PROGRAMME_ROLES)
    fields = set()
    for values in PartnerProfile.objects.filter(organisation_id__in=ids).values_list(
        "fields_of_action", flat=True
    ):
        fields.update(values or [])
    return sorted(fields, key=sort_key)


def _any_field(name: str, fields: list[str]) -> Q:
    match = Q()
    for field in fields:
        match |= Q(**{f"{name}__icontains": f'"{field}"'})
    return match


class StartView(NetworkMixin, View):
    """The network's part of the start page, loaded into it (htmx): next meetings, new practice entries and open
    questions in the fields of action of the user's organisations."""

    def get(self, request):
        user = request.user
        fields = own_fields_of_action(user)
        meetings = Meeting.objects.visible_to(user).upcoming().select_related("host")
        entries = PracticeEntry.objects.visible_to(user).published().select_related("organisation")
        questions = Question.objects.visible_to(user).open().select_related("organisation")
        if fields:
            meetings = meetings.filter(_any_field("fields_of_action", fields) | Q(fields_of_action=[]))
            entries = entries.filter(field_of_action__in=fields)
            questions = questions.filter(_any_field("fields_of_action", fields) | Q(fields_of_action=[]))
        context = {
            "fields": field_labels(fields),
            "meetings": meetings[:3],
            "entries": entries.only("pk", "title", "organisation__name", "published_at")[:3],
            "questions": questions.only("pk", "title", "organisation__name")[:3],
        }
        return render(request, "network/_start.html", context)
