import base64
import logging
import operator
import secrets
import unicodedata
import uuid
from functools import partialmethod, reduce
from urllib.parse import quote, urlencode

import pgtrigger
from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models import Count, F, Q, Value
from django.db.models.functions import Cast, Upper
from django.db.models.lookups import Regex
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.functional import cached_property
from django.utils.hashable import make_hashable
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP

from . import encryption
from .collation import NAMES_SQL, collated, text_order
from .counts import count_triggers, total
from .generation import figures_changed

logger = logging.getLogger(__name__)


class Role(models.TextChoices):
    MINISTRY = "ministry", _("Ministry staff")
    HR = "hr", _("HR office")
    ORGANISER = "organiser", _("Course organiser")
    ADMIN = "admin", _("Administrator")


class User(AbstractUser):
    """A person who logs in. Employees kept by HR are `Employee` records and mostly never log in."""

    # When the account was last (re)activated and deactivated: an account unused for ACCOUNT_DORMANT_DAYS since
    # its last login or activation is deactivated, and one deactivated for RETENTION_ACCOUNT_DAYS is
    # pseudonymised (vielfalt.privacy). Kept by `save` whenever `is_active` changes.
    active_since = models.DateTimeField(_("active since"), null=True, blank=True, editable=False)
    deactivated_at = models.DateTimeField(_("deactivated"), null=True, blank=True, editable=False)
    pseudonymised_at = models.DateTimeField(_("pseudonymised"), null=True, blank=True, editable=False)
    # When the holder was last told that the unused account will be deactivated (ACCOUNT_DORMANT_NOTICE_DAYS
    # later); a notice from before the account's last use no longer counts.
    dormancy_notice_at = models.DateTimeField(
        _("told of deactivation"), null=True, blank=True, editable=False
    )
    # An e-mail to the holder (a notice of a change to the account, of its coming deactivation, a link to choose a
    # password) that did not get through: the mail server refused it after the retries, or the background service
    # could not take it (vielfalt.jobs.MarkedMailTask). Shown to administrators, and to the holder at the next
    # login (vielfalt.accounts); the next that does get through clears it.
    mail_failed_at = models.DateTimeField(_("e-mail not delivered"), null=True, blank=True, editable=False)

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if self.pk and (update_fields is None or "is_active" in update_fields):
            was_active = (
                type(self)._default_manager.filter(pk=self.pk).values_list("is_active", flat=True).first()
            )
            if was_active is not None and was_active != self.is_active:
                now = timezone.now()
                if self.is_active:
                    self.active_since, self.deactivated_at = now, None
                else:
                    self.deactivated_at = now
                if update_fields is not None:
                    kwargs["update_fields"] = {*update_fields, "active_since", "deactivated_at"}
        super().save(*args, **kwargs)

    @cached_property
    def _role_org_ids(self) -> dict[str, frozenset[int]]:
        roles: dict[str, set[int]] = {}
        for role, organisation_id in self.memberships.values_list("role", "organisation_id"):
            roles.setdefault(role, set()).add(organisation_id)
        return {role: frozenset(ids) for role, ids in roles.items()}

    def organisation_ids(self, role: str) -> frozenset[int]:
        """Primary keys of the organisations in which the user holds `role`."""
        return self._role_org_ids.get(role, frozenset())

    @property
    def is_administrator(self) -> bool:
        return self.is_active and (self.is_superuser or bool(self.organisation_ids(Role.ADMIN)))

    @property
    def is_ministry_staff(self) -> bool:
        return self.is_administrator or bool(self.organisation_ids(Role.MINISTRY))

    @property
    def is_partner_hr(self) -> bool:
        return bool(self.organisation_ids(Role.HR))

    @property
    def is_course_organiser(self) -> bool:
        return bool(self.organisation_ids(Role.ORGANISER))

    def may(self, role, organisation=None) -> bool:
        """Whether the user may act in `role` (or any of several) for `organisation`: see permissions.py."""
        from .permissions import may

        return may(self, role, organisation)

    @property
    def role_labels(self) -> list[str]:
        labels = [str(label) for value, label in Role.choices if self._role_org_ids.get(value)]
        if self.is_superuser and str(Role.ADMIN.label) not in labels:
            labels.append(str(Role.ADMIN.label))
        return labels


class AuthenticatorApp(TimestampMixin, ThrottlingMixin, Device):
    """An authenticator app (TOTP, RFC 6238: six digits every 30 seconds) as a second factor: django-otp's
    TOTPDevice, except that its key is kept encrypted (vielfalt.encryption, bound to its holder), as a password
    is kept only as its hash. Whoever reads the table, or a stolen backup, without the portal's secret key cannot
    compute anyone's codes; nor can a database administrator give the key to another account."""

    STEP, DIGITS, TOLERANCE = 30, 6, 1  # what every authenticator app understands; one step either way
    KEY_BYTES = 20  # 160 bits, as RFC 4226 recommends for HMAC-SHA1
    NAMESPACE = "vielfalt.authenticator-app"

    # django-otp's fields (Device, TimestampMixin) as they are, under names the admin shows in German too.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, verbose_name=_("user"))
    name = models.CharField(_("name"), max_length=64)
    confirmed = models.BooleanField(_("confirmed"), default=True)
    created_at = models.DateTimeField(_("set up"), null=True, auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    encrypted_key = models.BinaryField(editable=False)
    # Steps the app's clock is known to be off, and the last step a code was accepted for (a code is taken once).
    drift = models.SmallIntegerField(default=0, editable=False)
    last_t = models.BigIntegerField(default=-1, editable=False)

    class Meta(Device.Meta):
        verbose_name = _("authenticator app")
        verbose_name_plural = _("second factor: authenticator apps")  # beside the other factors in the admin

    def _bound_to(self) -> bytes:
        return f"user:{self.user_id}".encode()

    def set_key(self, key: bytes) -> None:
        self.encrypted_key = encryption.encrypt(key, namespace=self.NAMESPACE, bound_to=self._bound_to())

    def _key(self) -> tuple[bytes, bool]:
        return encryption.decrypt(self.encrypted_key, namespace=self.NAMESPACE, bound_to=self._bound_to())

    @property
    def bin_key(self) -> bytes:
        return self._key()[0]

    @property
    def key_readable(self) -> bool:
        """Whether a secret key of the portal decrypts the key (not after the one it was encrypted under was
        rotated away without a fallback)."""
        try:
            self._key()
        except ValueError:
            return False
        return True

    def encrypt_again(self) -> bool:
        """Encrypt the key under the current secret key if it is under a fallback; whether it was. ValueError if
        no secret of the portal decrypts it."""
        key, current = self._key()
        if not current:
            self.set_key(key)
            self.save(update_fields=["encrypted_key"])
        return not current

    def save(self, *args, **kwargs):
        if not self.encrypted_key:
            self.set_key(secrets.token_bytes(self.KEY_BYTES))
        super().save(*args, **kwargs)

    def verify_token(self, token) -> bool:
        """django-otp's TOTPDevice.verify_token: within one step either way of the app's known drift, never a
        code of a step already used; failures count towards the device's throttle. A key still encrypted under
        a secret key being rotated out is encrypted again under the current one."""
        allowed, _details = self.verify_is_allowed()
        if not allowed:
            return False
        # A key no secret decrypts: the secret key it was encrypted under is gone (README, "Rotating the secret
        # key"). Its holder's codes fail until an administrator removes the app and they set it up again.
        try:
            key, current = self._key()
        except ValueError:
            logger.warning("The key of authenticator app %s cannot be decrypted.", self.pk)
            key = current = None
        totp = TOTP(key, self.STEP, 0, self.DIGITS, self.drift) if key else None  # at the time of asking
        if (
            totp is None
            or not str(token).isdigit()
            or not totp.verify(int(token), self.TOLERANCE, self.last_t + 1)
        ):
            self.throttle_increment(commit=True)
            return False
        self.last_t = totp.t()
        self.drift = totp.drift
        if not current:
            self.set_key(key)
        self.throttle_reset(commit=False)
        self.set_last_used_timestamp(commit=False)
        self.save()
        return True

    def get_throttle_factor(self):
        return settings.OTP_TOTP_THROTTLE_FACTOR

    @property
    def config_url(self) -> str:
        """The otpauth:// address an app takes from the QR code (Key Uri Format of Google Authenticator)."""
        issuer = settings.OTP_TOTP_ISSUER.replace(":", "")
        label = quote(f"{issuer}:{self.user.get_username()}")
        params = urlencode(
            {
                "secret": base64.b32encode(self.bin_key),
                "algorithm": "SHA1",
                "digits": self.DIGITS,
                "period": self.STEP,
            }
        )
        return f"otpauth://totp/{label}?{params}&issuer={quote(issuer)}"


class OrganisationQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Every organisation for the ministry; for everyone else the organisations they hold a role in."""
        from .permissions import scope

        return self.filter(scope(user, (Role.MINISTRY, Role.HR, Role.ORGANISER, Role.ADMIN), field="pk"))

    def acting_for(self, user, role):
        """The organisations `user` acts for in `role` (or any of several roles): see permissions.py."""
        from .permissions import scope

        return self.filter(scope(user, role, field="pk"))

    def partners(self):
        """The programme's partners: every organisation but the state ministry, which runs the programme (it
        has no partner page and records no partner's figures of its own). See `Organisation.is_partner`."""
        return self.exclude(kind=Organisation.Kind.STATE_MINISTRY)


class Organisation(models.Model):
    class Kind(models.TextChoices):
        STATE_MINISTRY = "ministry", _("State ministry")
        CITY = "city", _("City")
        DISTRICT = "district", _("District")
        AUTHORITY = "authority", _("Public authority")
        ASSOCIATION = "association", _("Association")
        COMPANY = "company", _("Company")
        INTEGRATION_CENTRE = "integration_centre", _("Municipal integration centre")

    class District(models.TextChoices):
        ARNSBERG = "arnsberg", "Arnsberg"
        DETMOLD = "detmold", "Detmold"
        DUESSELDORF = "duesseldorf", "Düsseldorf"
        KOELN = "koeln", "Köln"
        MUENSTER = "muenster", "Münster"

    slug = models.SlugField(_("short name"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)

    class Article(models.TextChoices):
        # The grammatical article of the name, stored rather than guessed: "das Ministerium", "die Stadt
        # Duisburg", "der Kreis Wesel"; none for names that take none ("MAIS NRW").
        NONE = "", _("none")
        DER = "der", "der"
        DIE = "die", "die"
        DAS = "das", "das"

    district = models.CharField(
        _("administrative district"), max_length=20, choices=District.choices, blank=True
    )
    article = models.CharField(
        _("article"),
        max_length=3,
        choices=Article.choices,
        blank=True,
        default=Article.NONE,
        help_text=_(
            "German article of the name, used in documents: “Für das Ministerium …”, “Für die Stadt …”."
        ),
    )
    address = models.TextField(
        _("postal address"),
        blank=True,
        help_text=_("Street and town, one per line; printed in the letterhead of the documents it issues."),
    )
    require_second_factor = models.BooleanField(
        _("require a second factor"),
        default=False,
        help_text=_("Everyone with a role in this organisation must log in with a second factor."),
    )

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        triggers = [figures_changed()]  # the programme's figures (vielfalt.generation)
        ordering = [collated("name").asc()]  # as readers expect (vielfalt.collation), as every sort by text
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        # The filters' options (every organisation, by name, for an administrator) read in order: sorting 400
        # names by ICU's rules on every list page cost 0.4 ms of PostgreSQL's CPU, the index 0.1 ms.
        indexes = [models.Index(collated("name"), F("id"), name="organisation_name_order")]

    def __str__(self):
        return self.name

    # German needs the article in the case the sentence asks for: "für" takes the accusative.
    ACCUSATIVE = {"der": "den", "die": "die", "das": "das"}

    @property
    def name_accusative(self) -> str:
        """The name with its article as object of "für": "das Ministerium …", "den Kreis Wesel"."""
        article = self.ACCUSATIVE.get(self.article, "")
        return f"{article} {self.name}" if article else self.name

    @property
    def name_nominative(self) -> str:
        return f"{self.article} {self.name}" if self.article else self.name

    @property
    def is_partner(self) -> bool:
        """Whether the organisation is one of the programme's partners (as `Organisation.objects.partners()`)."""
        return self.kind != self.Kind.STATE_MINISTRY


class Membership(models.Model):
    """A role a user holds in an organisation; every permission follows from these."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user")
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("organisation")
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation", "role"],
                name="membership_unique_role",
                violation_error_message=_("The user has this role in the organisation already."),
            ),
        ]

    def __str__(self):
        return f"{self.user} – {self.get_role_display()} – {self.organisation}"

    def clean(self):
        # The ministry's role reaches every organisation wherever it is held (vielfalt.permissions): granted in a
        # partner ("Ministry staff – Stadt Duisburg") it read like that city's and gave a clerk every partner's.
        if (
            self.role == Role.MINISTRY
            and self.organisation_id
            and not Organisation.objects.filter(
                pk=self.organisation_id, kind=Organisation.Kind.STATE_MINISTRY
            ).exists()
        ):
            raise ValidationError(
                {"organisation": _("The ministry staff role is held in the ministry only.")}
            )


# The units from one up to the top of its tree. UNION, not UNION ALL: a unit met again ends the walk, so that a
# loop saved before OrgUnit.clean refused loops ends it too (after each of its units once), never runs for ever.
UNITS_ABOVE_SQL = """
WITH RECURSIVE above(id, parent_id) AS (
    SELECT id, parent_id FROM {table} WHERE id = %s
    UNION
    SELECT unit.id, unit.parent_id FROM {table} unit JOIN above ON unit.id = above.parent_id
)
SELECT 1 FROM above WHERE id = %s
"""

# Transaction-level advisory lock (vielfalt_orgunit's space, key 0) that serialises changes of units' parents.
ORG_UNIT_TREE_LOCK = "pg_advisory_xact_lock(20309, 0)"
# What PostgreSQL refuses of the unit tree (the names its errors carry, `IntegrityError.__cause__.diag`): a loop
# (the trigger orgunit_no_loop) and a parent of another organisation (a foreign key of the parent and the
# unit's organisation to a unit and its organisation, migration vielfalt 0035).
ORG_UNIT_TREE_CONSTRAINTS = ("orgunit_no_loop", "orgunit_parent_same_organisation")


def org_unit_no_loop() -> list[pgtrigger.Trigger]:
    """A unit is never its own ancestor, whatever the path (OrgUnit.clean refuses it in forms; a queryset
    update, raw SQL or two administrators each placing one unit under the other at the same moment bypass or race
    it). A changed parent walks the tree, after the tree lock: without it, each of two concurrent moves (A under
    B, B under A) walked a tree without the other's uncommitted move, and both committed a loop.

    An UPDATE takes the lock in a statement trigger, before it locks its rows: taken in the row trigger, after
    the row's lock, two moves deadlocked (the first's foreign key check at commit waits for the parent row the
    second has locked, the second for the first's tree lock). One lock for all organisations, not one per
    organisation: simple, and safe also for units saved before the database kept a parent in its unit's
    organisation (migration vielfalt 0035). A form that saves units answers the trigger's refusal with the form
    again (admin.OrgUnitTreeFormMixin). The lock is held to the end of the transaction by
    every UPDATE that sets the parent column (a unit's save() sets every column): unit saves are rare
    administration; only a changed parent walks."""
    walk = UNITS_ABOVE_SQL.format(table='"vielfalt_orgunit"') % ("NEW.parent_id", "NEW.id")
    return [
        pgtrigger.Trigger(
            name="orgunit_tree_lock",
            level=pgtrigger.Statement,
            when=pgtrigger.Before,
            operation=pgtrigger.UpdateOf("parent_id"),
            func=f"PERFORM {ORG_UNIT_TREE_LOCK}; RETURN NULL;",
        ),
        pgtrigger.Trigger(
            name="orgunit_no_loop",
            when=pgtrigger.Before,
            operation=pgtrigger.Insert | pgtrigger.Update,
            condition=pgtrigger.Condition("NEW.parent_id IS NOT NULL"),
            func=f"""
                IF TG_OP = 'UPDATE' AND OLD.parent_id IS NOT DISTINCT FROM NEW.parent_id THEN
                    RETURN NEW;
                END IF;
                PERFORM {ORG_UNIT_TREE_LOCK};  -- an INSERT's; an UPDATE holds it already
                IF EXISTS ({walk}) THEN
                    RAISE EXCEPTION 'A unit cannot be placed under itself or under one of its own subunits'
                        USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'orgunit_no_loop';
                END IF;
                RETURN NEW;
            """,
        ),
    ]


class OrgUnit(models.Model):
    """A department of an organisation; units form a tree. Names are unique per organisation so that
    an import can refer to a unit by its name."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="units", verbose_name=_("organisation")
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent"),
    )
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        ordering = [collated("name").asc()]
        verbose_name = _("org unit")
        verbose_name_plural = _("org units")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"],
                name="orgunit_unique_name",
                violation_error_message=_("The organisation has a unit of this name already."),
            ),
        ]
        triggers = org_unit_no_loop()

    def __str__(self):
        return self.name

    def clean(self):
        # The tree is one organisation's: the admin offered every organisation's units as the parent, and saved a
        # unit under another organisation's, joining their trees.
        if unit_of_another_organisation(self.parent_id, self.organisation_id):
            raise ValidationError({"parent": _("The parent unit belongs to another organisation.")})
        # A loop (A under B under A) left both units outside the organisation's tree, each its own ancestor.
        if self.pk and self.parent_id and unit_within(self.parent_id, self.pk):
            raise ValidationError(
                {"parent": _("A unit cannot be placed under itself or under one of its own subunits.")}
            )


class TargetGroup(models.TextChoices):
    TRAINEE = "trainee", _("Trainees")
    PUBLIC_FACING = "public_facing", _("Public-facing staff")
    MANAGER = "manager", _("Managers")
    OTHER = "other", _("Other staff")


# A search reads at most this many words; a word shorter than SEARCH_ANYWHERE is looked for at the start of
# a word only (EmployeeQuerySet.search).
SEARCH_WORDS = 5
SEARCH_ANYWHERE = 3


def unit_of_another_organisation(org_unit_id: int | None, organisation_id: int | None) -> bool:
    """Whether `org_unit_id` names a unit of an organisation other than `organisation_id` (False while either is
    unset): the model checks of records filed under a unit (an employee, a unit's parent, a procedure)."""
    return bool(
        org_unit_id
        and organisation_id
        and OrgUnit.objects.filter(pk=org_unit_id).exclude(organisation_id=organisation_id).exists()
    )


def unit_within(org_unit_id: int, ancestor_id: int) -> bool:
    """Whether `org_unit_id` is the unit `ancestor_id` or one of the units below it, in one query up the tree
    (UNITS_ABOVE_SQL; PostgreSQL and SQLite alike)."""
    with connection.cursor() as cursor:
        cursor.execute(
            UNITS_ABOVE_SQL.format(table=connection.ops.quote_name(OrgUnit._meta.db_table)),
            [org_unit_id, ancestor_id],
        )
        return cursor.fetchone() is not None


def word_start(word: str, separators: str = " -") -> str:
    """A regular expression for `word` at the start of a text or of a word in it (after one of `separators`),
    every character but letters and digits escaped. For a word too short for the trigram indexes to find
    anywhere (fewer than SEARCH_ANYWHERE characters): the start of a word is a piece of three characters padded
    with blanks, which they hold."""
    escaped = "".join(ch if ch.isalnum() else f"\\{ch}" for ch in word)
    return f"(^|[{separators}]){escaped}"


def personnel_number_text(value: str) -> str:
    """A personnel number as the portal keeps and looks it up: in Unicode's compatibility form (NFKC), without
    the blanks around it. Full-width digits, letters and hyphens (typed through an input method, or written by
    a spreadsheet set to an East Asian locale) are then the ASCII ones, so that "ＢＳ－０１２３４５" is the
    number BS-012345: kept as typed, it was a second employee under a number that looks the same, which the
    search for "BS-012345" and an enrolment list naming BS-012345 did not find."""
    return unicodedata.normalize("NFKC", value).strip()


class EmployeeQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Whose employee records a user may see and change: partner HR its own organisations',
        administrators everyone's (vielfalt.permissions)."""
        from .permissions import scope

        return self.filter(scope(user, Role.HR))

    def search(self, text: str, *, email: bool = True):
        """The employees matching every word of `text` (the first SEARCH_WORDS). A word of three characters
        or more matches anywhere in the last name, the first name, the personnel number or (with `email`) the
        e-mail address. A shorter one matches at the start of a word of either name, of the personnel number
        or of the address: "Lê" finds Lê, Lê Thị and Nguyễn-Lê, "li" finds Lindner, not Pauli.

        The trigram indexes (employee_search_*, keyed by organisation first) find a word by its pieces of three
        characters. One or two characters anywhere in a name have no such piece, and PostgreSQL read every
        employee of the organisation for them ("Lê" in a city of 100,000: 239 ms a request, 10 ms now); the
        start of a word is a piece padded with blanks, which the indexes hold."""
        columns = ["last_name", "first_name", "personnel_number", *(["email"] if email else [])]
        queryset = self
        # Typed in full-width characters (an input method), a personnel number is the one the portal keeps.
        for word in unicodedata.normalize("NFKC", text).split()[:SEARCH_WORDS]:
            if len(word) >= SEARCH_ANYWHERE:
                conditions = [Q(**{f"{column}__icontains": word}) for column in columns]
            else:
                # The start of either name or of a word in it, as one pattern a name: three (start, after a
                # blank, after a hyphen) each read the same entries of the index.
                start = word_start(word)
                conditions = [
                    Q(Regex(Upper(column), Upper(Value(start)))) for column in ("last_name", "first_name")
                ] + [Q(**{f"{column}__istartswith": word}) for column in columns[2:]]
            queryset = queryset.filter(reduce(operator.or_, conditions))
        return queryset


# An employee list's order as an index's columns.
NAME_ORDER = (collated("last_name"), collated("first_name"), F("personnel_number"))


class Employee(models.Model):
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="employees", verbose_name=_("organisation")
    )
    personnel_number = models.CharField(_("personnel number"), max_length=40)
    first_name = models.CharField(_("first name"), max_length=150)
    last_name = models.CharField(_("last name"), max_length=150)
    email = models.EmailField(_("e-mail"), blank=True)
    org_unit = models.ForeignKey(
        OrgUnit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="employees",
        verbose_name=_("org unit"),
    )
    target_group = models.CharField(
        _("target group"), max_length=20, choices=TargetGroup.choices, default=TargetGroup.OTHER
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set by the retention purge (vielfalt.privacy): names, e-mail and personnel number were replaced.
    pseudonymised_at = models.DateTimeField(_("pseudonymised"), null=True, blank=True, editable=False)

    objects = EmployeeQuerySet.as_manager()

    class Meta:
        ordering = [collated("last_name").asc(), collated("first_name").asc(), "personnel_number"]
        verbose_name = _("employee")
        verbose_name_plural = _("employees")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "personnel_number"],
                name="employee_unique_personnel_number",
                violation_error_message=_("An employee with this personnel number already exists."),
            ),
            models.CheckConstraint(
                condition=~Q(personnel_number=""),
                name="employee_personnel_number_set",
                violation_error_message=_("Please enter the personnel number."),
            ),
        ]
        # The list's order to the last column: with only the names, PostgreSQL sorted every namesake. The names
        # in the order a list sorts them by (vielfalt.collation): an index in another collation holds no order.
        indexes = [
            models.Index(F("organisation"), *NAME_ORDER, name="employee_org_order"),
            # An org unit's staff (the list filtered by unit) in the same order, without walking everyone's.
            models.Index(F("organisation"), F("org_unit"), *NAME_ORDER, name="employee_unit_order"),
            # The list of every organisation (an administrator's) in its order, without sorting 200,000 rows.
            models.Index(*NAME_ORDER, name="employee_name_order"),
            # The few deactivated employees (the list filtered by status) without walking past the active ones.
            models.Index(
                F("organisation"), *NAME_ORDER, name="employee_inactive_order", condition=Q(is_active=False)
            ),
        ]
        # The search's trigram indexes, by organisation, are PostgreSQL's only: migrations 0017 and 0021.
        # EmployeeCount follows every statement that adds, removes or changes employees (ORM, bulk, COPY, SQL).
        triggers = count_triggers(
            "employee_count",
            "vielfalt_employeecount",
            {
                "organisation_id": "organisation_id",
                "unit": "COALESCE(org_unit_id, 0)",
                "target_group": "target_group",
                "is_active": "is_active",
            },
            "employees",
        )

    def __str__(self):
        return f"{self.last_name}, {self.first_name} ({self.personnel_number})"

    def get_absolute_url(self):
        return reverse("employee_update", args=[self.pk])

    def clean(self):
        # Every way an employee is written (the form, the services, the admin) keeps the number in one form,
        # checked again as the field checks it: a few characters can stand for many ("ﷺ" for 18), and a number
        # that grew past 40 was refused by PostgreSQL only, as a server error.
        self.personnel_number = personnel_number_text(self.personnel_number or "")
        try:
            self._meta.get_field("personnel_number").run_validators(self.personnel_number)
        except ValidationError as error:
            raise ValidationError({"personnel_number": error.error_list}) from None
        # Whatever the path (the form checks it too, for its message next to the field): a unit of another
        # organisation would put the employee into its figures and its survey units.
        if unit_of_another_organisation(self.org_unit_id, self.organisation_id):
            raise ValidationError({"org_unit": _("This unit belongs to another organisation.")})

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class EmployeeCount(models.Model):
    """How many employees an organisation has, per org unit, target group and status, kept by PostgreSQL
    triggers on Employee (every statement that adds, removes or changes employees updates it in the same
    transaction): the employee list's total under any filter but a search, and the start page's figures, without
    counting up to 100,000 rows on every page. Not maintained on SQLite (no triggers there): read through
    `employee_total` and `employee_figures`."""

    # Deleted with its organisation by PostgreSQL itself: also when plain SQL removes organisations (seed_scale).
    organisation = models.ForeignKey(
        Organisation, on_delete=models.DB_CASCADE, related_name="employee_counts"
    )
    # The org unit's id, 0 for none: a key column the upsert of the triggers can match (NULLs never conflict).
    unit = models.BigIntegerField(default=0)
    target_group = models.CharField(max_length=20)
    is_active = models.BooleanField()
    employees = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "unit", "target_group", "is_active"],
                name="employee_count_key",
                violation_error_message=_(
                    "The employee counts hold one number per organisation, org unit, target group and status."
                ),
            )
        ]

    def __str__(self):
        return f"{self.organisation_id}/{self.unit}/{self.target_group}/{self.is_active}: {self.employees}"


def employee_total(organisation_ids, *, unit=None, target_group=None, is_active=None) -> int | None:
    """The number of employees of these organisations (None: of every organisation), optionally only of one org
    unit, target group or status, from EmployeeCount; None where the counts are not kept (SQLite)."""
    return total(
        EmployeeCount,
        "employees",
        organisation_ids,
        key="organisation_id",
        unit=unit,
        target_group=target_group,
        is_active=is_active,
    )


# Per org unit of one organisation (0: no unit), how many employees it has under the list's filters, in the
# order of the units' names (ascending: no unit last; descending: first, as PostgreSQL sorts NULL names).
_UNIT_TOTALS = f"""
    SELECT c.unit, SUM(c.employees) FROM vielfalt_employeecount c LEFT JOIN vielfalt_orgunit u ON u.id = c.unit
    WHERE c.organisation_id = %s{{conditions}}
    GROUP BY c.unit, u.name HAVING SUM(c.employees) > 0 ORDER BY u.name COLLATE {NAMES_SQL} {{direction}}
"""  # noqa: S608 (constants only)


def employee_unit_totals(
    organisation_id: int, *, descending: bool = False, unit=None, target_group=None, is_active=None
) -> list[tuple[int | None, int]] | None:
    """[(org unit id or None for no unit, employees)] of one organisation, optionally only of one org unit,
    target group or status, in the order of the units' names (`descending`: backwards) as the employee list
    sorted by org unit shows them, from EmployeeCount; None where the counts are not kept (SQLite)."""
    if connection.vendor != "postgresql":
        return None
    conditions, params = [], [organisation_id]
    for column, value in (("unit", unit), ("target_group", target_group), ("is_active", is_active)):
        if value is not None:
            conditions.append(f" AND c.{column} = %s")
            params.append(value)
    sql = _UNIT_TOTALS.format(conditions="".join(conditions), direction="DESC" if descending else "ASC")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(unit or None, employees) for unit, employees in cursor.fetchall()]


# Per organisation: (name, active employees, all employees), of those with any.
_EMPLOYEE_FIGURES = f"""
    SELECT o.name, SUM(c.employees) FILTER (WHERE c.is_active), SUM(c.employees)
    FROM vielfalt_employeecount c JOIN vielfalt_organisation o ON o.id = c.organisation_id
    WHERE c.organisation_id = ANY(%s::bigint[])
    GROUP BY o.id, o.name HAVING SUM(c.employees) > 0 ORDER BY o.name COLLATE {NAMES_SQL}, o.id
"""  # noqa: S608 (constants only)


def employee_figures(organisation_ids) -> list[dict]:
    """Per organisation of these, with any employees: {"organisation__name", "active", "total"}, by name.
    From EmployeeCount on PostgreSQL, counted from the employees elsewhere (SQLite)."""
    if connection.vendor != "postgresql":
        return list(
            Employee.objects.filter(organisation_id__in=organisation_ids)
            .values("organisation__name")
            .annotate(active=Count("pk", filter=Q(is_active=True)), total=Count("pk"))
            .order_by(*text_order(Employee, "organisation__name"))
        )
    with connection.cursor() as cursor:
        cursor.execute(_EMPLOYEE_FIGURES, [list(organisation_ids)])
        return [
            {"organisation__name": name, "active": active or 0, "total": all_}
            for name, active, all_ in cursor.fetchall()
        ]


# What the ministry does for every partner, whose entries in the audit log it reads whoever made them: the
# partnership (agreements, their signatories, commitments, progress reports, documents, anonymised procedures: the
# whole `partnerships` app) and what it moderates in the network (practice examples, questions and answers,
# meetings). Not the partners' personnel matters (employees, enrolments, certificates, survey campaigns), their
# users' logins and accounts, nor the network's registrations and contact persons.
MINISTRY_AUDIT_APPS = ("partnerships",)
MINISTRY_AUDIT_MODELS = (
    ("network", ("practiceentry", "attachment", "question", "answer", "meeting", "meetingdocument")),
)


class AuditEntryQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Administrators read the whole log. Ministry staff read what concerns their own work: the entries
        about the partnership domain of every partner (MINISTRY_AUDIT_APPS, MINISTRY_AUDIT_MODELS), and every
        entry of their own organisations: those recorded for it, those its staff made, and those about its
        staff's accounts (logins, failed logins, lock-outs; a user belongs to no organisation but through a
        membership). Not a city's HR work on its employees, their enrolments and certificates, nor the cities'
        logins: their names and doings are the city's, not the ministry's (Art. 5(1)(c) GDPR)."""
        from .permissions import own_scope, scope

        staff = Membership.objects.filter(own_scope(user, Role.MINISTRY)).values("user_id")
        return self.filter(
            (scope(user, Role.MINISTRY) & Q(content_type__in=_ministry_audit_types()))
            | own_scope(user, Role.MINISTRY)
            | Q(actor__in=staff)
            | Q(
                content_type=ContentType.objects.get_for_model(User),
                object_id__in=staff.values(text=Cast("user_id", models.CharField())),
            )
        )

    def update(self, **kwargs):
        raise TypeError("The audit log is append-only.")

    def delete(self):
        raise TypeError("The audit log is append-only.")


def _ministry_audit_types():
    """The content types of the partnership domain, whose entries the ministry reads for every partner."""
    models_of = reduce(
        operator.or_,
        (Q(app_label=app, model__in=names) for app, names in MINISTRY_AUDIT_MODELS),
        Q(app_label__in=MINISTRY_AUDIT_APPS),
    )
    return ContentType.objects.filter(models_of)


class AuditEntry(models.Model):
    """Who created, changed, deleted, exported or downloaded what, and when. Append-only: the model refuses
    updates and deletes, and on PostgreSQL triggers refuse them (and TRUNCATE) in the database too."""

    class Action(models.TextChoices):
        CREATE = "create", _("created")
        CHANGE = "change", _("changed")
        DELETE = "delete", _("deleted")
        IMPORT = "import", _("imported")
        EXPORT = "export", _("exported")
        DOWNLOAD = "download", _("downloaded")
        LOGIN = "login", _("logged in")
        LOGOUT = "logout", _("logged out")
        LOGIN_FAILED = "login_failed", _("failed to log in")
        LOCKED_OUT = "locked_out", _("was locked out")
        PURGE = "purge", _("purged personal data")

    at = models.DateTimeField(_("time"), auto_now_add=True)
    # PROTECT: a user who appears in the log is deactivated, never deleted.
    actor = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("by")
    )
    actor_name = models.CharField(_("by"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    content_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("kind of object")
    )
    object_id = models.CharField(_("object ID"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=300, blank=True)
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("organisation"),
    )
    changes = models.JSONField(_("details"), default=dict, blank=True)
    # Set once, by the retention purge, when the people in this entry were replaced by pseudonyms.
    pseudonymised_at = models.DateTimeField(_("pseudonymised"), null=True, blank=True, editable=False)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        # The log is read newest first, a page at a time from where the last one ended (AuditLogView): the log
        # and each filter but the object's description have an index in that order, so that a page reads its
        # 50 entries and no more, however long the log has grown. On PostgreSQL, migration 0022 adds the user
        # name's (as `iexact` compares it, upper-case) and a trigram index for searching the description.
        indexes = [
            models.Index(fields=["content_type", "object_id"], name="audit_object"),
            models.Index(fields=["at", "id"], name="audit_time"),
            models.Index(fields=["action", "at", "id"], name="audit_action_time"),
        ]
        # Append-only in PostgreSQL too. The one exception is the retention purge's pseudonymisation
        # (vielfalt.privacy.audit_pseudonymise), and only in this shape: the transaction has set
        # `vielfalt.audit_pseudonymise` to 'on', the entry was not pseudonymised before and is marked now, and
        # only the people in it change (actor cleared, actor_name and object_repr become pseudonyms "P-…" or stay,
        # changes); time, action, object, organisation stay. Each entry can be pseudonymised once, never again.
        triggers = [
            pgtrigger.Trigger(
                name="audit_no_delete",
                when=pgtrigger.Before,
                operation=pgtrigger.Delete,
                func="RAISE EXCEPTION 'The audit log is append-only';",
            ),
            pgtrigger.Trigger(
                name="audit_no_update",
                when=pgtrigger.Before,
                operation=pgtrigger.Update,
                func="RAISE EXCEPTION 'The audit log is append-only (only the retention purge pseudonymises)';",
                condition=pgtrigger.Condition(
                    "NOT ("
                    "coalesce(current_setting('vielfalt.audit_pseudonymise', true), '') = 'on'"
                    " AND OLD.pseudonymised_at IS NULL AND NEW.pseudonymised_at IS NOT NULL"
                    " AND NEW.actor_id IS NULL"
                    " AND (NEW.actor_name IN ('', 'system') OR NEW.actor_name LIKE 'P-%%')"
                    " AND (NEW.object_repr = OLD.object_repr OR NEW.object_repr LIKE 'P-%%')"
                    " AND NEW.id = OLD.id AND NEW.at = OLD.at AND NEW.action = OLD.action"
                    " AND NEW.content_type_id IS NOT DISTINCT FROM OLD.content_type_id"
                    " AND NEW.object_id = OLD.object_id"
                    " AND NEW.organisation_id IS NOT DISTINCT FROM OLD.organisation_id"
                    ")"
                ),
            ),
            # TRUNCATE is a statement of its own that row triggers do not see.
            pgtrigger.Trigger(
                name="audit_no_truncate",
                level=pgtrigger.Statement,
                when=pgtrigger.Before,
                operation=pgtrigger.Truncate,
                func="RAISE EXCEPTION 'The audit log is append-only (no TRUNCATE)';",
            ),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.get_action_display()} {self.object_repr}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The audit log is append-only.")


class JobQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Everyone sees the jobs they started while they still hold, for the job's organisation, the role they
        started it in (`Job.role`): a clerk moved to another office, or who lost the role, no longer downloads
        the staff list, the Art. 15 export or the sign-in sheet made there, also when the account keeps another
        role in the same organisation (HR withdrawn, course organiser kept); the ministry's own jobs (no
        organisation) while they are ministry staff. Administrators see every job."""
        from .permissions import may, scope

        if not user.is_authenticated:
            return self.none()
        if may(user, Role.ADMIN):
            return self
        # A job without a role (made before jobs kept theirs): while the user holds any role there.
        held = Q(role="") & scope(user, Role.values, "organisation")
        for role in Role.values:
            held |= Q(role=role) & scope(user, role, "organisation")
        return self.filter(held, requested_by=user)


class Job(models.Model):
    """A background job as the user sees it: waiting, running, ready (with its file) or failed (with why).

    Every app enqueues its Celery tasks through `vielfalt.jobs.job_enqueue`, which creates one of these."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("waiting")
        RUNNING = "running", _("running")
        READY = "ready", _("ready")
        FAILED = "failed", _("failed")

    id = models.UUIDField(_("ID"), primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("job"), max_length=100)
    description = models.CharField(_("description"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.WAITING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="jobs",
        verbose_name=_("requested by"),
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="jobs",
        verbose_name=_("organisation"),
    )
    # The role the requester started the job in (HR for a staff export, organiser for a sign-in sheet): its
    # page and file are theirs while they hold that role for the organisation (JobQuerySet.visible_to).
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    result_file = models.FileField(_("result file"), upload_to="jobs/%Y/%m/", blank=True)
    result_name = models.CharField(_("file name of the result"), max_length=200, blank=True)
    result_url = models.CharField(_("link to the result"), max_length=300, blank=True)
    error = models.TextField(_("error"), blank=True)
    # A job that reads a file (a large import): the upload, kept until the job has a result, then deleted.
    input_file = models.FileField(_("input file"), upload_to="job-input/%Y/%m/", blank=True)
    # What a finished job says beyond its file: an import's summary, or every problem (line, column, message)
    # of a refused file.
    outcome = models.CharField(_("outcome"), max_length=300, blank=True)
    problems = models.JSONField(_("problems"), default=list, blank=True)
    # What to send again: by the retry button of a failed job, or by the watchdog when a worker died.
    task_name = models.CharField(_("task"), max_length=200, blank=True)
    task_kwargs = models.JSONField(_("arguments of the task"), default=dict, blank=True)
    # Refreshed by the worker while it runs the job (vielfalt.jobs); a running job whose heartbeat stopped lost
    # its worker. Re-queued once (`requeues`), then failed. Of a waiting job: when it was queued again (unset:
    # when created); one waiting too long was lost by the broker.
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    requeues = models.PositiveSmallIntegerField(_("times queued again"), default=0)
    # The Celery task id of the message the job was last handed to the broker with (each start, retry or re-queue
    # gets a new one): a message with another id is an earlier attempt's, delivered late (Redis back after the job
    # was failed as lost and retried), and does nothing (vielfalt.jobs.JobTask). Blank: any message runs it.
    task_id = models.CharField(_("task id of the current attempt"), max_length=36, blank=True)
    # What the job belongs to (a course date, a campaign, an agreement, the overview): its page links back there.
    origin_url = models.CharField(_("link to its origin"), max_length=300, blank=True)
    origin_name = models.CharField(_("origin"), max_length=300, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")

    def __str__(self):
        return f"{self.description or self.kind} ({self.get_status_display()})"

    def get_absolute_url(self):
        return reverse("job_detail", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.READY, self.Status.FAILED)


def choice_display(self, field):
    """`get_<field>_display()` of every model's fields with choices (installed by `install_choice_display`).

    Django's own builds a dictionary of the field's choices on every call, hashing each lazy label, which
    translates it: about 40 µs a call, a millisecond for a list of 25 rows. The dictionary of value → (lazy)
    label is the same for every call, in every language, so it is built once per field; the label is still
    translated into the request's language on each call."""
    labels = field.__dict__.get("_choice_labels")
    if labels is None:
        labels = field.__dict__["_choice_labels"] = dict(make_hashable(field.flatchoices))
    value = getattr(self, field.attname)
    return force_str(labels.get(make_hashable(value), value), strings_only=True)


def install_choice_display() -> None:
    """Called by VielfaltConfig.ready: Django made each `get_<field>_display` a partial method of
    `Model._get_FIELD_display` when the model class was created; those (not a model's own ones, nor fields with
    callable choices) become partial methods of `choice_display`."""
    from django.apps import apps

    for model in apps.get_models():
        for field in model._meta.local_fields:
            name = f"get_{field.name}_display"
            method = model.__dict__.get(name)
            if (
                isinstance(method, partialmethod)
                and method.func is models.Model._get_FIELD_display
                and isinstance(field.choices, list | tuple)
            ):
                setattr(model, name, partialmethod(choice_display, field=field))
