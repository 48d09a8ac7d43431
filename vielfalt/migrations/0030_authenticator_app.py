"""Authenticator apps as the portal's own device (vielfalt.models.AuthenticatorApp), their keys encrypted. Every
device of django-otp's TOTP plugin, whose table kept the keys as they are, moves over with its key encrypted, and
that table is dropped (the plugin is no longer installed). The encryption is written out here as it stands today
(vielfalt.encryption), so that the migration does the same whatever the module becomes.

Sessions that passed the second factor with such a device are asked for a code once more (the device they name is
gone); the devices, their names and the codes of the apps stay the same."""

import hashlib
import secrets

import django.db.models.deletion
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import migrations, models
from django.utils.encoding import force_bytes

OLD_TABLE = "otp_totp_totpdevice"
COLUMNS = [
    "id",
    "user_id",
    "name",
    "confirmed",
    "key",
    "drift",
    "last_t",
    "throttling_failure_timestamp",
    "throttling_failure_count",
    "created_at",
    "last_used_at",
]


def encrypted(key_hex: str, user_id: int) -> bytes:
    key = hashlib.sha256(force_bytes(f"vielfalt.authenticator-app:{settings.SECRET_KEY}")).digest()
    nonce = secrets.token_bytes(12)
    return nonce + AESGCM(key).encrypt(nonce, bytes.fromhex(key_hex), f"user:{user_id}".encode())


def move_devices(apps, schema_editor):
    connection = schema_editor.connection
    if OLD_TABLE not in connection.introspection.table_names():
        return
    table = apps.get_model("vielfalt", "AuthenticatorApp")._meta.db_table
    quote = connection.ops.quote_name
    kept = [column for column in COLUMNS if column != "key"]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(map(quote, COLUMNS))} FROM {quote(OLD_TABLE)} ORDER BY 1")
        rows = [dict(zip(COLUMNS, row, strict=True)) for row in cursor.fetchall()]
        # As they are (ids, times of creation and use), with the key encrypted.
        cursor.executemany(
            f"INSERT INTO {quote(table)} ({', '.join(map(quote, [*kept, 'encrypted_key']))})"
            f" VALUES ({', '.join(['%s'] * (len(kept) + 1))})",
            [[*(row[column] for column in kept), encrypted(row["key"], row["user_id"])] for row in rows],
        )
        if rows and connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {quote(table)}))"
            )
    schema_editor.execute(f"DROP TABLE {quote(OLD_TABLE)}")
    schema_editor.execute("DELETE FROM django_migrations WHERE app = 'otp_totp'")


class Migration(migrations.Migration):
    dependencies = [
        ("vielfalt", "0029_recovery_code_hashes"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuthenticatorApp",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=64, verbose_name="name")),
                ("confirmed", models.BooleanField(default=True, verbose_name="confirmed")),
                (
                    "throttling_failure_timestamp",
                    models.DateTimeField(
                        blank=True,
                        default=None,
                        help_text="A timestamp of the last failed verification attempt. Null if last attempt succeeded.",
                        null=True,
                    ),
                ),
                (
                    "throttling_failure_count",
                    models.PositiveIntegerField(default=0, help_text="Number of successive failed attempts."),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, null=True, verbose_name="set up")),
                ("last_used_at", models.DateTimeField(blank=True, null=True, verbose_name="last used")),
                ("encrypted_key", models.BinaryField()),
                ("drift", models.SmallIntegerField(default=0, editable=False)),
                ("last_t", models.BigIntegerField(default=-1, editable=False)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="user",
                    ),
                ),
            ],
            options={
                "verbose_name": "authenticator app",
                "verbose_name_plural": "second factor: authenticator apps",
                "abstract": False,
            },
        ),
        migrations.RunPython(move_devices, elidable=True),
    ]
