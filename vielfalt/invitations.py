"""A new account's password is chosen by its holder: nobody else ever knows it.

An administrator creates an account in the Django admin with a user name, the person's name, an e-mail address and
roles, and no password (`AccountAddForm`: the account's password is unusable). The portal then e-mails the person
a link to choose one (`invitation_mail`): Django's password-reset token, which works once, only until a password
is set, and for PASSWORD_RESET_TIMEOUT. Before, the admin's form asked the administrator to make a password up
and pass it on (by telephone, in an e-mail), and nothing ever asked the person to change it: the administrator,
and whoever read the message, knew a ministry official's password for as long as the account lived.

A link that has expired is sent again from the admin's user list ("Send a link to choose a password"), or the
person asks for one under "Forgotten your password?", which answers an account that has not chosen a password
yet and never logged in (`vielfalt.password_reset.PortalPasswordResetForm`)."""

import unicodedata
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import User
from .second_factor import second_factor_required


def awaits_password(user: User) -> bool:
    """Whether `user` was invited and has not chosen a password yet (nor logged in otherwise)."""
    return user.is_active and not user.has_usable_password() and user.last_login is None


class AccountAddForm(forms.ModelForm):
    """The admin's form for a new account: who, and where to send the link; no password."""

    class Meta:
        model = User
        fields = ["username", "first_name", "last_name", "email"]
        field_classes = {"username": forms.CharField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("first_name", "last_name", "email"):
            self.fields[name].required = True
        self.fields["email"].help_text = gettext_lazy(
            "The person receives a link to this address to choose their own password. Nobody else learns it."
        )

    def clean_username(self):
        # As Django's own creation form: "Ada" and "ada" would be two accounts that look like one.
        username = unicodedata.normalize("NFKC", self.cleaned_data["username"])
        if User._default_manager.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("A user with that username already exists."), code="unique")
        return username

    def save(self, commit=True):
        user = super().save(commit=False)
        user.set_unusable_password()
        if commit:
            user.save()
        return user


def password_link(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return settings.PORTAL_URL + reverse("password_reset_confirm", args=[uid, token])


def link_valid_until():
    """Until when a link sent now works (Django's token lives PASSWORD_RESET_TIMEOUT seconds), in local time."""
    return timezone.localtime(timezone.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT))


def invitation_mail(user: User) -> EmailMessage:
    """The e-mail with the user's name, roles and a link to choose a password, in the current language."""
    roles = [
        (membership.get_role_display(), membership.organisation)
        for membership in user.memberships.select_related("organisation").order_by(
            "organisation__name", "role"
        )
    ]
    body = render_to_string(
        "registration/invitation_email.txt",
        {
            "user": user,
            "roles": roles,
            "administrator": user.is_superuser and not roles,
            "link": password_link(user),
            "valid_until": link_valid_until(),
            "reset_url": settings.PORTAL_URL + reverse("password_reset"),
            "portal_url": settings.PORTAL_URL + "/",
            "second_factor": second_factor_required(user),
        },
    )
    return EmailMessage(
        subject=_("Your account for the portal “Vielfalt verbindet”"), body=body, to=[user.email]
    )
