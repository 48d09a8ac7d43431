from django.contrib.auth.mixins import LoginRequiredMixin
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView


class IndexView(LoginRequiredMixin, TemplateView):
    template_name = "vielfalt/placeholder.html"
    extra_context = {
        "title": _("Trainings"),
        "lead": _("Intercultural sensitisation courses: dates, enrolments, waiting lists and certificates."),
    }
