"""PostgreSQL triggers that keep a signed agreement as it was signed, whatever path writes to the database (the
services, the Django admin, a shell, raw SQL). The services refuse first with a friendly message
(`AgreementFrozen`); these are the floor underneath. django-pgtrigger installs them through migrations on
PostgreSQL only: on SQLite (the embedded default) they are absent."""

from functools import reduce
from operator import or_

import pgtrigger

# The statuses after signing: the text, parties, dates and signatories no longer change (an amendment is a new
# agreement). Keep in step with Agreement.is_frozen.
FROZEN = ("signed", "ended")

# What the life cycle still changes on a signed agreement: its status (signed → ended, see
# partnerships.services.ALLOWED_TRANSITIONS) and the bookkeeping timestamp that goes with it.
AGREEMENT_MAY_CHANGE = ("status", "updated_at")


def _frozen_list() -> str:
    return ", ".join(f"'{status}'" for status in FROZEN)


REFUSE = """
    RAISE EXCEPTION 'pgtrigger: a signed agreement cannot change (% on %)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
"""


class SignedAgreementUnchanged(pgtrigger.Trigger):
    """Refuses an UPDATE of a signed or ended agreement that changes anything but its status (and then only
    signed → ended) and `updated_at`. Every other column is protected, so a field added later is too (its
    migration updates this trigger)."""

    when = pgtrigger.Before
    operation = pgtrigger.Update
    func = REFUSE

    def get_condition(self, model):
        content = [f.name for f in model._meta.concrete_fields if f.name not in AGREEMENT_MAY_CHANGE]
        changed = reduce(
            or_, [pgtrigger.Q(**{f"old__{name}__df": pgtrigger.F(f"new__{name}")}) for name in content]
        )
        status_allowed = pgtrigger.Q(new__status=pgtrigger.F("old__status")) | pgtrigger.Q(
            old__status="signed", new__status="ended"
        )
        return pgtrigger.Q(old__status__in=FROZEN) & (changed | ~status_allowed)


class PartOfSignedAgreement(pgtrigger.Trigger):
    """Refuses inserting, changing or deleting a row (a signatory, a commitment) that belongs to a signed or
    ended agreement, before or after the change. `may_change` columns may still change (portal settings that
    are not part of the signed text); `may_clear` columns may become NULL (a foreign key with SET_NULL whose
    target is deleted). With `operation=pgtrigger.Update | pgtrigger.Delete` (the documents) a new row may
    still be added."""

    when = pgtrigger.Before
    operation = pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete

    def __init__(self, *, may_change: tuple[str, ...] = (), may_clear: tuple[str, ...] = (), **kwargs):
        self.may_change = may_change
        self.may_clear = may_clear
        super().__init__(**kwargs)

    def get_func(self, model):
        agreement_table = model._meta.get_field("agreement").related_model._meta.db_table
        fixed = [
            f.column
            for f in model._meta.concrete_fields
            if f.name not in self.may_change and f.name not in self.may_clear
        ]
        unchanged = " AND ".join(f'OLD."{column}" IS NOT DISTINCT FROM NEW."{column}"' for column in fixed)
        for name in self.may_clear:
            column = model._meta.get_field(name).column
            unchanged += (
                f' AND (NEW."{column}" IS NULL OR NEW."{column}" IS NOT DISTINCT FROM OLD."{column}")'
            )
        # Built from the model's own column names and the constants above, never from input.
        return f"""
            IF TG_OP = 'UPDATE' AND {unchanged} THEN
                RETURN NEW;
            END IF;
            IF EXISTS (
                SELECT 1 FROM "{agreement_table}"
                WHERE status IN ({_frozen_list()})
                AND id IN (
                    CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN OLD.agreement_id END,
                    CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN NEW.agreement_id END
                )
            ) THEN
                {REFUSE}
            END IF;
            IF TG_OP = 'DELETE' THEN
                RETURN OLD;
            END IF;
            RETURN NEW;
        """  # noqa: S608
