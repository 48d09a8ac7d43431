import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.decorators import method_decorator
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.http import http_date
from django.utils.translation import get_language, gettext_noop, ngettext
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.generic import CreateView, DetailView, FormView, ListView, TemplateView, UpdateView

from vielfalt.audit import audit_record, record_text
from vielfalt.clients import client_address
from vielfalt.collation import text_order
from vielfalt.concurrency import EditConflict
from vielfalt.generation import cached_figures
from vielfalt.jobs import job_enqueue
from vielfalt.models import AuditEntry, Job, Organisation, Role
from vielfalt.permissions import MinistryMixin, PartnerHRMixin, RoleRequiredMixin
from vielfalt.tabular import download
from vielfalt.throttle import Throttle
from vielfalt.validation import submitted_id

from .credentials import respondent_seal, respondent_unseal
from .forms import CampaignExtendForm, CampaignForm, CodeForm, InviteForm, SurveyForm
from .models import Campaign
from .results import EXPORT_HEADER, campaign_results, export_rows, programme_results, results_visible
from .services import (
    CampaignNotOpen,
    InvitationUnknown,
    UnitNotOffered,
    campaign_close,
    campaign_create,
    campaign_extend,
    campaign_figures,
    campaign_open,
    campaign_update,
    credential_for_code,
    credential_for_token,
    invitation_counts_of,
    invitations_create,
    pooled_units,
    questionnaire_for_credential,
    response_submit,
)
from .tasks import EASY_LINK_SUFFIX, task_render_code_sheets, task_render_report, task_send_invitations

# In production with the prefixes of the portal's other cookies (settings.COOKIE_PREFIX): the easy-language
# cookie with __Host-; the respondent's state with __Secure- (HTTPS only), as __Host- would widen its path to the
# whole portal. What another site of the domain could toss into it is a sealed state of its own, which replaces
# nothing a respondent holds: their link or code starts a new state.
EASY_COOKIE = (
    f"{settings.COOKIE_PREFIX}surveys_easy"  # "1": the questionnaire and its help in easy-to-read language
)
# The respondent's state, sealed (surveys.credentials.respondent_seal): "credential" (the hash of the link or
# code, never the token), "form_key" (the synchronizer token of the questionnaire), "campaign" (once the
# questionnaire was shown), "draft" (the answers ticked before a switch of the language or a request for more
# time, SurveyForm.draft, until the page after it shows them), "done" (answered, until the thanks is shown), "at"
# (when the link or code was used, or more time was asked for: the state expires SESSION_COOKIE_AGE later, as a
# session would), "more_time" (until the page that says it was given). No session row: a respondent's pages
# write nothing but the answer.
RESPONDENT_COOKIE = f"{'__Secure-' if settings.COOKIE_PREFIX else ''}surveys_respondent"
RESPONDENT_COOKIE_PATH = "/surveys/"
# The questionnaire warns this long before the respondent's state runs out and offers more time (WCAG 2.2.1).
QUESTIONNAIRE_WARNING_SECONDS = 5 * 60


class CampaignMixin(PartnerHRMixin):
    def get_queryset(self):
        return Campaign.objects.visible_to(self.request.user).select_related("organisation")

    def get_campaign(self) -> Campaign:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])


class IndexView(RoleRequiredMixin, ListView):
    """The campaigns of the user's organisations, with how many were invited and answered."""

    roles = (Role.HR, Role.MINISTRY)
    template_name = "surveys/campaign_list.html"
    context_object_name = "campaigns"
    paginate_by = 50

    def get_queryset(self):
        return (
            Campaign.objects.visible_to(self.request.user)
            .select_related("organisation")
            .only("title", "opens_on", "closes_on", "status", "organisation__name")
            .order_by(*text_order(Campaign, "-opens_on", "title", "pk"))
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        campaigns = list(context["campaigns"])
        counts = invitation_counts_of([campaign.pk for campaign in campaigns])
        # The cells as plain values for the loop (no reverse(), date filters or choice lookups per row).
        index = reverse("surveys:index")  # a campaign's page is <index><pk>/ (urls.py)
        status_labels = {status: str(label) for status, label in Campaign.Status.choices}
        context["rows"] = [
            (
                f"{index}{campaign.pk}/",
                campaign.title,
                campaign.organisation.name,
                f"{date_format(campaign.opens_on, 'SHORT_DATE_FORMAT')} – "
                f"{date_format(campaign.closes_on, 'SHORT_DATE_FORMAT')}",
                status_labels.get(campaign.status, campaign.status),
                *counts.get(campaign.pk, (0, 0)),
            )
            for campaign in campaigns
        ]
        return context


class CampaignCreateView(PartnerHRMixin, CreateView):
    form_class = CampaignForm
    template_name = "surveys/campaign_form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_valid(self, form):
        data = dict(form.cleaned_data)
        organisation = data.pop("organisation")
        units = data.pop("units")
        campaign = campaign_create(actor=self.request.user, organisation=organisation, units=units, **data)
        messages.success(self.request, _("The campaign was created as a draft."))
        return redirect(campaign)


class CampaignUnitChoicesView(PartnerHRMixin, View):
    """The org units of the organisation chosen on the campaign form (htmx, on change), as its check boxes: only
    an organisation the user acts for as HR."""

    def get(self, request):
        organisation = get_object_or_404(
            Organisation.objects.acting_for(request.user, Role.HR),
            pk=submitted_id(request.GET.get("organisation")) or 0,
        )
        form = CampaignForm(user=request.user, initial={"organisation": organisation.pk})
        return render(request, "surveys/campaign_units_swap.html", {"field": form["units"]})


class CampaignUpdateView(CampaignMixin, UpdateView):
    form_class = CampaignForm
    template_name = "surveys/campaign_form.html"

    def _opened(self):
        """Only a draft can be changed: a campaign opened meanwhile (by a colleague, or in another tab) leads to
        its page, which says so, instead of a 404 that looked as if the campaign were gone."""
        self.campaign = campaign = self.get_campaign()
        if campaign.is_draft:
            return None
        messages.error(
            self.request,
            _("The campaign is %(status)s: only a draft can be changed.")
            % {"status": campaign.get_status_display()},
        )
        return redirect(campaign)

    def get(self, request, *args, **kwargs):
        return self._opened() or super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        return self._opened() or super().post(request, *args, **kwargs)

    def get_object(self, queryset=None):
        return self.campaign  # read by `_opened`

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_valid(self, form):
        data = dict(form.cleaned_data)
        units = data.pop("units")
        campaign = self.object  # the service reads it again under its row's lock
        try:
            campaign_update(
                actor=self.request.user,
                campaign=campaign,
                units=units,
                opened_version=form.opened_version,
                **data,
            )
        except EditConflict as conflict:
            form.edit_conflict(conflict)
            return self.form_invalid(form)
        except ValidationError as error:  # opened meanwhile: only a draft can be changed
            form.add_error(None, error)
            return self.form_invalid(form)
        messages.success(self.request, _("The changes were saved."))
        return redirect(campaign)


class CampaignDetailView(CampaignMixin, DetailView):
    template_name = "surveys/campaign_detail.html"
    context_object_name = "campaign"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        figures = campaign_figures(campaign=self.object)
        counts = figures.counts
        context["counts"] = counts
        context["participation"] = (
            round(100 * counts["answered"] / counts["invited"], 1) if counts["invited"] else None
        )
        context["results_visible"] = results_visible(campaign=self.object)
        context["units"] = self.object.units.all()
        context["unit_participation"] = figures.units
        context["unit_participation_suppressed"] = any(row["answered"] is None for row in figures.units)
        context["pooled_units"] = figures.pools if self.object.is_open else []
        return context


class CampaignStatusView(CampaignMixin, View):
    action = None

    def post(self, request, pk):
        campaign = self.get_campaign()
        try:
            campaign = self.action(actor=request.user, campaign=campaign)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request, _("The campaign is now %(status)s.") % {"status": campaign.get_status_display()}
            )
        return redirect(campaign)


class CampaignOpenView(CampaignStatusView):
    action = staticmethod(campaign_open)


class CampaignCloseView(CampaignStatusView):
    action = staticmethod(campaign_close)


class CampaignExtendView(CampaignMixin, View):
    def post(self, request, pk):
        campaign = self.get_campaign()
        form = CampaignExtendForm(request.POST)
        try:
            if not form.is_valid():
                raise ValidationError(form.errors["closes_on"])
            campaign = campaign_extend(
                actor=request.user, campaign=campaign, closes_on=form.cleaned_data["closes_on"]
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                _("The campaign now takes answers until the end of %(date)s.")
                % {"date": date_format(campaign.closes_on, "DATE_FORMAT")},
            )
        return redirect(campaign)


class InviteView(CampaignMixin, FormView):
    form_class = InviteForm
    template_name = "surveys/invite_form.html"

    @cached_property
    def campaign(self) -> Campaign:
        return get_object_or_404(
            self.get_queryset().exclude(status=Campaign.Status.CLOSED), pk=self.kwargs["pk"]
        )

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "campaign": self.campaign}

    def get_context_data(self, **kwargs):
        return super().get_context_data(campaign=self.campaign, **kwargs)

    def form_valid(self, form):
        invitations = invitations_create(
            actor=self.request.user, campaign=self.campaign, units=form.cleaned_data["units"]
        )
        count = len(invitations)
        if self.campaign.is_open:
            # Not "were invited" yet: the job page says when the mails and letters are out.
            messages.info(
                self.request,
                ngettext(
                    "%(count)s invitation was created and is being sent.",
                    "%(count)s invitations were created and are being sent.",
                    count,
                )
                % {"count": count},
            )
            return redirect(_enqueue_sending(self.request, self.campaign, reminder=False))
        messages.success(
            self.request,
            ngettext("%(count)s employee was invited.", "%(count)s employees were invited.", count)
            % {"count": count},
        )
        return redirect(self.campaign)


def _started_already(request, campaign, kind: str, **task_kwargs) -> Job | None:
    """The user's own job of `kind` for `campaign` with these arguments that has not finished yet (started in the
    last ten minutes: one that hung longer does not stand in the way): a second click goes to it instead of
    starting the same work again beside it. (Two jobs at once are safe, tasks.py: the second finds the work done
    and prints or sends nothing, which is not what the person who clicked twice wants to see.)"""
    recent = Job.objects.filter(
        kind=kind,
        requested_by=request.user,
        origin_url=campaign.get_absolute_url(),
        status__in=(Job.Status.WAITING, Job.Status.RUNNING),
        created_at__gte=timezone.now() - timedelta(minutes=10),
    ).order_by("-created_at")
    wanted = {"campaign_id": campaign.pk, **task_kwargs}
    return next(
        (job for job in recent if all(job.task_kwargs.get(key) == value for key, value in wanted.items())),
        None,
    )


def _enqueue_sending(request, campaign, *, reminder: bool):
    if job := _started_already(request, campaign, "surveys.send_invitations", reminder=reminder):
        messages.info(request, _("These e-mails are being sent already: this page shows when they are out."))
        return job
    job = job_enqueue(
        task=task_send_invitations,
        kind="surveys.send_invitations",
        description=(_("Reminders for %(campaign)s") if reminder else _("Invitations for %(campaign)s"))
        % {"campaign": campaign},
        requested_by=request.user,
        organisation=campaign.organisation,
        role=Role.HR,
        origin=campaign,
        campaign_id=campaign.pk,
        actor_id=request.user.pk,
        reminder=reminder,
    )
    return job


class SendView(CampaignMixin, View):
    """Send the invitations not yet sent (only once the campaign is open), or remind the unused ones."""

    reminder = False

    def post(self, request, pk):
        campaign = self.get_campaign()
        if not campaign.is_open:
            messages.error(request, _("Invitations are sent only while the campaign is open."))
            return redirect(campaign)
        return redirect(_enqueue_sending(request, campaign, reminder=self.reminder))


class CodeSheetsView(CampaignMixin, View):
    """Print the pools' code sheets not printed yet, or (with `unit`: an org unit's id, or "none" for staff
    without one) reprint one pool's sheets with fresh codes for those not used yet."""

    def post(self, request, pk):
        campaign = self.get_campaign()
        if not campaign.is_open:
            messages.error(request, _("Code sheets are printed only while the campaign is open."))
            return redirect(campaign)
        reprint = {}
        if "unit" in request.POST:
            pools = {str(pool["org_unit_id"] or "none"): pool for pool in pooled_units(campaign=campaign)}
            pool = pools.get(request.POST["unit"])
            if pool is None:
                messages.error(request, _("This org unit has no code sheets in this campaign."))
                return redirect(campaign)
            reprint = {"reprint": True, "unit_id": pool["org_unit_id"]}
            description = _("Reprinted code sheets of %(unit)s for %(campaign)s") % {
                "unit": pool["org_unit__name"] or _("staff without an org unit"),
                "campaign": campaign,
            }
        else:
            description = _("Code sheets for %(campaign)s") % {"campaign": campaign}
        easy = request.POST.get("easy") == "1"
        if job := _started_already(
            request,
            campaign,
            "surveys.render_code_sheets",
            easy=easy,
            reprint=reprint.get("reprint"),
            unit_id=reprint.get("unit_id"),
        ):
            messages.info(
                request, _("These code sheets are being prepared already: this page offers them when ready.")
            )
            return redirect(job)
        job = job_enqueue(
            task=task_render_code_sheets,
            origin=campaign,
            kind="surveys.render_code_sheets",
            description=description,
            requested_by=request.user,
            organisation=campaign.organisation,
            role=Role.HR,
            campaign_id=campaign.pk,
            actor_id=request.user.pk,
            easy=easy,
            **reprint,
        )
        return redirect(job)


class ResultsMixin(CampaignMixin):
    def get_results(self):
        self.campaign = self.get_campaign()
        if not results_visible(campaign=self.campaign):
            return None
        return campaign_results(self.campaign)


class ResultsView(ResultsMixin, TemplateView):
    template_name = "surveys/results.html"

    def get_context_data(self, **kwargs):
        results = self.get_results()
        return super().get_context_data(campaign=self.campaign, results=results, **kwargs)


class ResultsExportView(ResultsMixin, View):
    def get(self, request, pk, export_format):
        results = self.get_results()
        if results is None:
            return redirect("surveys:results", pk=pk)
        audit_record(
            actor=request.user,
            action=AuditEntry.Action.EXPORT,
            obj=self.campaign,
            object_repr=record_text(
                gettext_noop("Results of %(campaign)s (%(format)s)"),
                campaign=self.campaign,
                format=export_format.upper(),
            ),
        )
        name = f"befragung-{self.campaign.pk}-ergebnisse-{timezone.localdate().isoformat()}"
        return download(export_format, EXPORT_HEADER, export_rows(results), filename=name, title="Ergebnisse")


class ReportView(ResultsMixin, View):
    def post(self, request, pk):
        if self.get_results() is None:
            return redirect("surveys:results", pk=pk)
        job = job_enqueue(
            task=task_render_report,
            origin=(reverse("surveys:results", args=[self.campaign.pk]), self.campaign),
            kind="surveys.render_report",
            description=_("Results report of %(campaign)s") % {"campaign": self.campaign},
            requested_by=request.user,
            organisation=self.campaign.organisation,
            role=Role.HR,
            campaign_id=self.campaign.pk,
            language=get_language(),
        )
        return redirect(job)


class ProgrammeResultsView(MinistryMixin, TemplateView):
    """The programme-wide figures, summed from what each organisation's latest closed campaign publishes
    (surveys.PublishedCounts, `programme_results`): one query however many answers there are, kept in the cache
    until the next write to those tables (vielfalt.generation)."""

    template_name = "surveys/programme_results.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            results=cached_figures("surveys-programme", programme_results), **kwargs
        )


# --- Answering, without an account ---------------------------------------------------------------------------


# What `never_cache` makes of "no-store", written at once: the respondents' pages set it on every response
# (through `_no_referrer`), without the decorator parsing and patching the header again on each.
NEVER_CACHE = "no-store, max-age=0, no-cache, must-revalidate, private"


def _no_referrer(response):
    """A respondent's page: no referrer (its address may hold a token), and kept by no cache."""
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = NEVER_CACHE
    response["Expires"] = http_date()
    return response


def _page(request, template: str, status: int = 200, **context):
    """A respondent's page, in easy-to-read language if they chose it."""
    return _no_referrer(render(request, template, {"easy": _easy(request), **context}, status=status))


def _easy(request) -> bool:
    return request.COOKIES.get(EASY_COOKIE) == "1"


def respondent_state(request) -> dict:
    """The respondent's state from the sealed cookie; empty if there is none or it was forged, only
    {"expired": True} if it expired (the respondent is told to open their link again, not that it is invalid;
    nothing of the old state is kept, "done" neither: the page is the same whether they answered or not)."""
    value = request.COOKIES.get(RESPONDENT_COOKIE)
    state = respondent_unseal(value) if value else None
    if not state or not isinstance(state.get("at"), int):
        return {}
    age = int(time.time()) - state["at"]
    if age < 0:
        return {}
    if age > settings.SESSION_COOKIE_AGE:
        return {"expired": True}
    return state


def _set_state(response, state: dict):
    response.set_cookie(
        RESPONDENT_COOKIE,
        respondent_seal(state),
        path=RESPONDENT_COOKIE_PATH,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


def _start(response, credential: str):
    """A new state for a link or code just used: whatever state an earlier visit left is replaced."""
    state = {"credential": credential, "form_key": secrets.token_urlsafe(24), "at": int(time.time())}
    return _set_state(response, state)


class LanguageSwitchMixin:
    """Respondents have no account and the survey pages post no language form: `?language=xx` sets the
    language cookie and redirects to the same page without the parameter."""

    def dispatch(self, request, *args, **kwargs):
        language = request.GET.get("language")
        if language:
            return self._switch_language(request, language)
        return super().dispatch(request, *args, **kwargs)

    def _switch_language(self, request, language):
        return _remember_language(_no_referrer(HttpResponseRedirect(request.path)), language)


def _remember_language(response, language: str):
    """The language a respondent chose (`language` as LanguageSwitchMixin and the questionnaire's buttons send
    it), kept for their next pages; anything else changes nothing."""
    if language == "easy":  # easy-to-read language (Leichte Sprache), in the current language
        _remember_easy(response)
    elif language == "standard":
        response.delete_cookie(EASY_COOKIE, samesite="Lax")
    elif language in dict(settings.LANGUAGES):
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
    return response


def _use_language(request, language: str) -> None:
    """This request's page in the language chosen with it, before the cookies that remember the choice reach
    the browser (`_remember_language`)."""
    if language == "easy":
        request.COOKIES[EASY_COOKIE] = "1"
    elif language == "standard":
        request.COOKIES.pop(EASY_COOKIE, None)
    elif language in dict(settings.LANGUAGES):
        translation.activate(language)
        request.LANGUAGE_CODE = language


class TokenView(View):
    """Exchange the one-time token for a session entry and redirect to a URL without it. Always a redirect:
    an unknown token must not become a 404 whose path (with the token) Django would log."""

    @method_decorator(sensitive_variables())
    def get(self, request, token):
        response = _start(
            _no_referrer(HttpResponseRedirect(reverse("surveys:answer"))), credential_for_token(token)
        )
        # The link for easy-to-read language, also without its last slash (a mail client may cut it off).
        if request.path.rstrip("/").endswith(f"/{EASY_LINK_SUFFIX.rstrip('/')}"):
            _remember_easy(response)
        return response


def _remember_easy(response) -> None:
    """The respondent chose easy-to-read language: kept as the language choice is (only over HTTPS, not for
    scripts), on a device that others may use after them."""
    response.set_cookie(
        EASY_COOKIE,
        "1",
        max_age=settings.LANGUAGE_COOKIE_AGE,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite="Lax",
    )


# Wrong codes per client address (vielfalt.throttle: a keyed hash of it, not the address, in the cache).
CODE_FAILURES = Throttle(
    "survey-code", limit="SURVEY_CODE_FAILURE_LIMIT", seconds="SURVEY_CODE_COOLOFF_SECONDS"
)


@method_decorator(never_cache, name="dispatch")
@method_decorator(sensitive_post_parameters(), name="dispatch")
class CodeView(LanguageSwitchMixin, FormView):
    """`/umfrage/` (and `/survey/`): type the code from a code sheet or e-mail, without an account. Wrong
    codes are counted per client address; after SURVEY_CODE_FAILURE_LIMIT of them the form refuses for
    SURVEY_CODE_COOLOFF_SECONDS (a city's staff may share one address, so the limit is generous: with 2⁶⁰
    codes, guessing is hopeless either way)."""

    form_class = CodeForm
    template_name = "surveys/code.html"

    def _throttled(self):
        return CODE_FAILURES.exceeded(client_address(self.request))

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "easy": _easy(self.request)}

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            throttled=self._throttled(),
            cooloff_minutes=-(-settings.SURVEY_CODE_COOLOFF_SECONDS // 60),  # rounded up: never too short
            easy=_easy(self.request),
            **kwargs,
        )

    def form_valid(self, form):
        if self._throttled():
            return self.render_to_response(self.get_context_data(form=form), status=429)
        try:
            credential = credential_for_code(form.cleaned_data["code"])
        except InvitationUnknown:
            CODE_FAILURES.add(client_address(self.request))
            form.add_error(
                "code",
                _("This code does not work. Please check the code. Then try again.")
                if _easy(self.request)
                else _("This code is not valid. Please check it and try again."),
            )
            return self.form_invalid(form)
        return _start(_no_referrer(HttpResponseRedirect(reverse("surveys:answer"))), credential)

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=422)


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(sensitive_post_parameters(), name="dispatch")  # error reports show no answer
class AnswerView(LanguageSwitchMixin, View):
    """The survey under a URL without the token. Survey pages send "Referrer-Policy: no-referrer"; browsers
    then send "Origin: null" and no Referer with a POST, which Django's CSRF check refuses. The form carries a
    random key bound to the session instead (the synchronizer-token pattern), and the session cookie is
    SameSite=Lax, so another site cannot post answers in a respondent's name.

    A used and an unused link or code show the same questionnaire and, after sending, the same thanks: only
    the holder knows whether they answered before (the second answer is not counted).

    On a shared computer whoever uses the browser next can come back to this address (the back button, the
    history) while the respondent's state lasts: they find the questionnaire, with nothing ticked, whether the
    respondent answered or left it halfway. The thanks is shown once, right after sending; the answers kept
    while switching the language are shown once, right after the switch; and the form is not restored by the
    browser (`autocomplete="off"`, surveys/answer.html)."""

    template_name = "surveys/answer.html"

    def _page_without_questions(self, request, state):
        if not state.get("credential"):
            if state.get("done"):
                return _page(request, "surveys/thanks.html")
            if state.get("expired"):
                return self._expired(request, 404)
            return _page(request, "surveys/link_invalid.html", 404)
        return None

    def _expired(self, request, status):
        """The page of a state that expired, or of a questionnaire whose link or code was used again since (in
        another window: its form key replaced): it says to open the link or enter the code again (not that the
        link is invalid), and, to answers sent, that they were not. A language button of the questionnaire
        posts the form too, but sends no answers: that page said they were not sent, as if some were lost."""
        return _page(
            request,
            "surveys/expired.html",
            status,
            sent=request.method == "POST" and "language" not in request.POST,
            minutes=settings.SESSION_COOKIE_AGE // 60,
        )

    def _questionnaire(self, request, state):
        """(the open campaign of the state's link or code, the units it offers, None) or (None, None, the page
        that says why not)."""
        try:
            return *questionnaire_for_credential(state["credential"]), None
        except InvitationUnknown:
            return None, None, _page(request, "surveys/link_invalid.html", 404)
        except CampaignNotOpen:
            return None, None, _page(request, "surveys/campaign_not_open.html", 410)

    def get(self, request):
        state = respondent_state(request)
        page = self._page_without_questions(request, state)
        if page:
            return page
        if state.get("done"):
            return self._thanks(request, state)
        campaign, units, page = self._questionnaire(request, state)
        if page:
            return page
        form = SurveyForm(units=units, easy=_easy(request), initial=state.get("draft"))
        # The campaign goes into the state, for the POST's submission (no lookup of the invitation there). The
        # draft is shown this once: this page again (reloaded, or from the history by whoever uses the browser
        # next) has nothing ticked. That more time was given is said once too, on the page after asking for it.
        kept = {key: value for key, value in state.items() if key not in ("draft", "more_time")}
        page = self._render(request, campaign, form, state, more_time=state.get("more_time", False))
        return _set_state(page, {**kept, "campaign": campaign.pk})

    def _thanks(self, request, state):
        """The thanks, once: the state goes back to what the link or code started, so that this address
        shows the questionnaire again, as it does to a respondent who has not sent it (sent again, the answer
        is not counted). Its title is the questionnaire's, the one a browser's history lists for the address."""
        title = Campaign.objects.filter(pk=state.get("campaign")).values_list("title", flat=True).first()
        kept = {key: value for key, value in state.items() if key != "done"}
        return _set_state(_page(request, "surveys/thanks.html", campaign_title=title), kept)

    def post(self, request):
        language = request.POST.get("language")
        if language is None:
            return self._post(request)
        # A language button of the questionnaire: whichever page answers it (the questionnaire again, or the
        # out-of-date page of a state that expired or of a link opened again in another window) is in the
        # language chosen, and the choice is kept, as the links on the other pages do.
        _use_language(request, language)
        return _remember_language(self._post(request), language)

    def _post(self, request):
        state = respondent_state(request)
        page = self._page_without_questions(request, state)
        if page:
            return page
        expected = state.get("form_key", "")
        # As bytes: compare_digest refuses str with characters beyond ASCII (a TypeError, a server error).
        posted = request.POST.get("form_key", "").encode()
        if not expected or not secrets.compare_digest(expected.encode(), posted):
            return self._expired(request, 403)
        if (
            "language" in request.POST
        ):  # a language button of the questionnaire (surveys/_language_choice.html)
            return self._switch_keeping_answers(request, state)
        if (
            "more_time" in request.POST
        ):  # the button of the warning before the time runs out (surveys/answer.html)
            return self._more_time(request, state)
        # The POST reads nothing before the submission: the campaign shown is in the state, and the submission
        # checks under the campaign's lock that it is open and offers the unit named.
        campaign_id = state.get("campaign")
        if campaign_id is None:  # no questionnaire was shown with this state (a form kept from another visit)
            campaign, _units, page = self._questionnaire(request, state)
            if page:
                return page
            campaign_id = campaign.pk
        form = SurveyForm(request.POST, units=None, easy=_easy(request))
        if not form.is_valid():
            return self._questionnaire_again(request, state)
        try:
            response_submit(credential=state["credential"], answers=form.answers(), campaign_id=campaign_id)
        except UnitNotOffered:
            return self._questionnaire_again(request, state)
        except (InvitationUnknown, ValidationError):
            return _page(request, "surveys/link_invalid.html", 404)
        except CampaignNotOpen:
            return _page(request, "surveys/campaign_not_open.html", 410)
        # The thanks comes next (`_thanks`); the draft is gone with the answers sent.
        response = _no_referrer(HttpResponseRedirect(reverse("surveys:answer")))
        kept = {key: value for key, value in state.items() if key != "draft"}
        return _set_state(response, {**kept, "campaign": campaign_id, "done": True})

    def _switch_keeping_answers(self, request, state):
        """Switch the language and show the questionnaire again with the answers ticked so far: they are kept
        as a draft in the respondent's own sealed state (on their device, encrypted; nothing is written here),
        for the page after the switch, which shows and drops it. Posted, not in the address: no answer in a
        URL."""
        response = _no_referrer(HttpResponseRedirect(request.path))  # the language: `post`
        return _set_state(response, {**state, "draft": SurveyForm.draft(request.POST)})

    def _more_time(self, request, state):
        """Another SESSION_COOKIE_AGE for the questionnaire, asked for with the button of the warning that comes
        before the time runs out (static/js/questionnaire.js; WCAG 2.2.1 Timing Adjustable: before, the time
        ran out without a word and the answers of a respondent who needs longer were lost). The answers ticked
        so far come back as with a switch of the language (a draft in the respondent's own sealed state); as
        often as asked for, as the portal's sessions are extended while they are used."""
        response = _no_referrer(HttpResponseRedirect(reverse("surveys:answer")))
        draft = SurveyForm.draft(request.POST)
        return _set_state(response, {**state, "draft": draft, "at": int(time.time()), "more_time": True})

    def _questionnaire_again(self, request, state):
        """The questionnaire with the answers posted and what is wrong with them, with the units by name."""
        campaign, units, page = self._questionnaire(request, state)
        if page:
            return page
        form = SurveyForm(request.POST, units=units, easy=_easy(request))
        form.is_valid()
        return self._render(request, campaign, form, state, status=422)

    def _render(self, request, campaign, form, state, status=200, more_time=False):
        context = {
            "campaign": campaign,
            "form": form,
            "form_key": state.get("form_key", ""),
            "minutes": settings.SESSION_COOKIE_AGE // 60,  # how long the state lasts (respondent_state)
            # When the time runs out, counted by the page from its load (the device's clock may be wrong), and
            # how long before that it warns and offers more time (static/js/questionnaire.js).
            "seconds_left": max(0, state["at"] + settings.SESSION_COOKIE_AGE - int(time.time())),
            "warn_seconds": QUESTIONNAIRE_WARNING_SECONDS,
            "warn_minutes": QUESTIONNAIRE_WARNING_SECONDS // 60,
            "more_time": more_time,
            "language_form": "questionnaire",  # the id of the form whose buttons switch the language
        }
        return _page(request, self.template_name, status, **context)
