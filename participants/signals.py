"""What the participants app tells the apps above it about a change, without importing them.

Data management (locks, source-data verification, signatures, queries) sits above participants
in the layers, as above outcomes (outcomes/signals.py, decision 0019): the services send these
signals inside their transaction and data management connects its receivers in its
AppConfig.ready(). `send` passes a receiver's exception on, so a refusal (`RecordLocked`)
stops the service and rolls its transaction back.

- `record_changing(screening, crf_code)`: before a casebook record of no visit (the vital
  signs at screening, `crf_code` its model's) is saved; a receiver refuses when a lock covers it.
- `record_saved(record, user, warnings, warning_reason)`: after it was saved; `warnings` are
  the soft-limit warnings the person confirmed for this version.
- `participant_enrolled(participant, user)`: after a screening became a participant (the
  queries on the records of its screening are raised then).
"""

from django.dispatch import Signal

record_changing = Signal()
record_saved = Signal()
participant_enrolled = Signal()
