"""`manage.py encrypt_again`: after a new DJANGO_SECRET_KEY took over (README, "Rotating the secret key"), encrypt
every authenticator app's key under it, so that the old key can leave DJANGO_SECRET_KEY_FALLBACKS without taking
anyone's second factor along. An app used to log in meanwhile has been encrypted again already."""

from django.core.management.base import BaseCommand

from vielfalt.models import AuthenticatorApp


class Command(BaseCommand):
    help = "Encrypt every authenticator app's key under the current DJANGO_SECRET_KEY."

    def handle(self, *args, **options):
        again, unreadable = 0, []
        for device in AuthenticatorApp.objects.order_by("pk").iterator():
            try:
                again += device.encrypt_again()
            except ValueError:
                unreadable.append(device.pk)
        self.stdout.write(f"{again} authenticator app key(s) encrypted again under the current secret key.")
        if unreadable:
            self.stderr.write(
                f"{len(unreadable)} key(s) no secret key decrypts (ids {', '.join(map(str, unreadable))}): their"
                " holders set up their app again after an administrator removed it."
            )
