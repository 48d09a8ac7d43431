"""Recovery codes kept as keyed hashes (vielfalt.second_factor.recovery_code_hash) instead of as they are: every
code not used yet is replaced by its hash, so that it keeps working and the table no longer holds it. The hash is
written out here as it stands today, so that the migration does the same whatever the function becomes."""

from django.conf import settings
from django.db import migrations
from django.utils.crypto import salted_hmac

SALT = "vielfalt.second_factor.recovery_code"


def hash_codes(apps, schema_editor):
    StaticToken = apps.get_model("otp_static", "StaticToken")
    for token in StaticToken.objects.filter(device__name="recovery").iterator():
        token.token = salted_hmac(SALT, token.token, secret=settings.SECRET_KEY, algorithm="sha256").hexdigest()[:16]
        token.save(update_fields=["token"])


class Migration(migrations.Migration):
    dependencies = [
        ("otp_static", "0003_add_timestamps"),
        ("vielfalt", "0028_user_dormancy_notice"),
    ]

    operations = [migrations.RunPython(hash_codes, migrations.RunPython.noop, elidable=True)]
