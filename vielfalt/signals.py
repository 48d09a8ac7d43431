"""What the core tells the feature apps, which it does not import (pyproject.toml's import contracts).

`employees_left`: employees became inactive (they left their organisation: the edit form, the import). Sent inside
the transaction of that change, with `actor` and `employee_ids`; a receiver hands them to a service of its app,
which ends in the same transaction what only an active employee holds (trainings: a seat or a place on the waiting
list of a course date that has not begun)."""

from django.dispatch import Signal

employees_left = Signal()
