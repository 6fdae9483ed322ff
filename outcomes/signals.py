"""What the outcomes app tells the apps above it about a change, without importing them.

Data management (locks, source-data verification, signatures, queries) sits above outcomes in
the layers (decision 0019): it reads the CRFs it cleans, so outcomes cannot import it. The
services send these signals inside their transaction; data management connects its receivers in
its AppConfig.ready(). `send` (not `send_robust`) passes a receiver's exception on, so a
refusal (`RecordLocked`, a TrialEdcError) stops the service and rolls its transaction back,
exactly as a direct call did. The pre_save lock guard stays the backstop for any other path.

- `data_changing(participant, visit, crf_code)`: before a service changes trial data; a
  receiver refuses when a lock covers them. `participant` and `visit` may be None; `crf_code`
  may be empty.
- `crf_saved(crf, user, warnings, warning_reason)`: after a CRF was saved; `warnings` are the
  soft-limit warnings the person confirmed for this version.
- `participant_data_changed(participant, visit, what)`: after a visit's state, an ICU stay or a
  study event changed; `visit` may be None.
- `check_refused(participant, visit, crf_code, field_name, text)`: after a save was refused
  because it disagrees with another record (a Day-0 assessment after the infusion): a receiver
  raises a query on that record's field (sent outside the refused save's transaction).
"""

from django.dispatch import Signal

data_changing = Signal()
crf_saved = Signal()
participant_data_changed = Signal()
check_refused = Signal()
