"""Django's `changepassword`, which an operator runs on the server, recorded and told to the account's holder
like every other new password (vielfalt.account_events): before, a password replaced here left no trace."""

from django.contrib.auth import get_user_model
from django.contrib.auth.management.commands import changepassword

from vielfalt.account_events import account_changed
from vielfalt.permissions import SYSTEM


class Command(changepassword.Command):
    def handle(self, *args, **options):
        result = super().handle(*args, **options)
        model = get_user_model()
        user = model._default_manager.db_manager(options["database"]).get_by_natural_key(
            options["username"] or changepassword.getpass.getuser()
        )
        account_changed(user=user, actor=SYSTEM, event="password", by_administrator=True)
        return result
