"""What apps above outcomes add to a CRF save, without outcomes importing them (decision 0019).

Randomization sits above outcomes in the layers: it knows the respiratory support a participant
was randomized with and whether the pharmacy handed the dose over, but outcomes cannot import it.
It registers here, from its AppConfig.ready(), as apps register timeline sections
(participants.timeline); `outcomes.services.crf_save` calls what is registered.

- `baseline_source(fn)`: fn(participant) -> {Baseline field: value} for the values the Baseline
  CRF takes from their single source instead of their being typed again (issue 18).
- `crf_guard(fn)`: fn(crf, complete) -> {field: message}: a refusal, raised as a hard error
  (HardLimitExceeded) before anything is saved; `crf` holds the values as they would be stored.
- `crf_changing_reads(fn)`: fn(visit, crf_code) -> {name: kernel.prepared.Read}: the reads a
  receiver of `signals.data_changing` makes for a CRF save (the covering locks). crf_save runs
  them first of its reads under the visit's lock, with its own (the CRF row, its version, the
  previous visits' values), in one round trip, and sends the results with data_changing as
  `read` ({name: rows}).
- `crf_saved_reads(fn)`: fn(crf) -> {name: kernel.prepared.Read}: the reads a receiver of
  `signals.crf_saved` makes after the CRF's write, with arguments known before it runs (the
  CRF carries `values_before_save`). fn is called before the write (the CRF holds the values
  it will store; a new CRF has no id yet); crf_save runs the reads after the CRF's UPDATE or
  INSERT, with its own read (the visit's CRF statuses), in one round trip with the CRF's audit
  row, before that row's INSERT (kernel.prepared.read_before_next, issue 24): so none may read
  the CRF's audit table. In the order registered; the receivers get the results as
  `crf.read_after_save[name]`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

BaselineSource = Callable[[Any], dict[str, Any]]
CrfGuard = Callable[[Any, bool], dict[str, str]]
CrfSavedReads = Callable[[Any], dict[str, Any]]
CrfChangingReads = Callable[[Any, str], dict[str, Any]]

_BASELINE_SOURCES: list[BaselineSource] = []
_CRF_GUARDS: list[CrfGuard] = []
_CRF_SAVED_READS: list[CrfSavedReads] = []
_CRF_CHANGING_READS: list[CrfChangingReads] = []


def baseline_source(fn: BaselineSource) -> BaselineSource:
    if fn not in _BASELINE_SOURCES:
        _BASELINE_SOURCES.append(fn)
    return fn


def crf_guard(fn: CrfGuard) -> CrfGuard:
    if fn not in _CRF_GUARDS:
        _CRF_GUARDS.append(fn)
    return fn


def baseline_sources() -> tuple[BaselineSource, ...]:
    return tuple(_BASELINE_SOURCES)


def crf_guards() -> tuple[CrfGuard, ...]:
    return tuple(_CRF_GUARDS)


def crf_saved_reads(fn: CrfSavedReads) -> CrfSavedReads:
    if fn not in _CRF_SAVED_READS:
        _CRF_SAVED_READS.append(fn)
    return fn


def crf_saved_reads_of(crf) -> dict[str, Any]:
    """{name: Read} of every registered `crf_saved_reads` for `crf`."""
    reads: dict[str, Any] = {}
    for fn in _CRF_SAVED_READS:
        reads.update(fn(crf))
    return reads


def crf_changing_reads(fn: CrfChangingReads) -> CrfChangingReads:
    if fn not in _CRF_CHANGING_READS:
        _CRF_CHANGING_READS.append(fn)
    return fn


def crf_changing_reads_of(visit, crf_code: str) -> dict[str, Any]:
    """{name: Read} of every registered `crf_changing_reads` for a save of `crf_code`."""
    reads: dict[str, Any] = {}
    for fn in _CRF_CHANGING_READS:
        reads.update(fn(visit, crf_code))
    return reads
