"""What the core tells the feature apps, which it does not import (pyproject.toml's import contracts).

`employees_left`: employees became inactive (they left their organisation: the edit form, the import). Sent inside
the transaction of that change, with `actor` and `employee_ids`; a receiver hands them to a service of its app,
which ends in the same transaction what only an active employee holds (trainings: a seat or a place on the waiting
list of a course date that has not begun; the network: a registration for a meeting that has not begun).

`accounts_left`: accounts were deactivated (an administrator, the purge of unused accounts) or lost roles (an
administrator withdrew them). Sent inside the transaction of that change, with `actor` and `user_ids`; a receiver
ends what an account holds only while it acts for an organisation (the network: the registrations it made for
itself, as one of an organisation it no longer acts for, for meetings that have not begun)."""

from django.dispatch import Signal

employees_left = Signal()
accounts_left = Signal()
