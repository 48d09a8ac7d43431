"""Role checks for views. Which objects a user may see is decided by each model's `visible_to(user)`;
these mixins only decide whether a user may open a kind of page at all."""

from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin


class RoleRequiredMixin(LoginRequiredMixin, UserPassesTestMixin):
    """Subclasses name the roles that may use the view: `allow_hr`, `allow_ministry`, ..."""

    allow_hr = False
    allow_ministry = False
    allow_organiser = False

    def test_func(self):
        user = self.request.user
        return (
            user.is_administrator
            or (self.allow_hr and user.is_partner_hr)
            or (self.allow_ministry and user.is_ministry_staff)
            or (self.allow_organiser and user.is_course_organiser)
        )


class PartnerHRMixin(RoleRequiredMixin):
    allow_hr = True


class MinistryMixin(RoleRequiredMixin):
    allow_ministry = True
