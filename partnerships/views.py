from django.contrib.auth.mixins import LoginRequiredMixin
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView


class IndexView(LoginRequiredMixin, TemplateView):
    template_name = "vielfalt/placeholder.html"
    extra_context = {
        "title": _("Partnerships"),
        "lead": _(
            "Cooperation agreements between the state and its partners, from first draft to signed PDF."
        ),
    }
