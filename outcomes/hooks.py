"""What apps above outcomes add to a CRF save, without outcomes importing them (decision 0019).

Randomization sits above outcomes in the layers: it knows the respiratory support a participant
was randomized with and whether the pharmacy handed the dose over, but outcomes cannot import it.
It registers here, from its AppConfig.ready(), as apps register timeline sections
(participants.timeline); `outcomes.services.crf_save` calls what is registered.

- `baseline_source(fn)`: fn(participant) -> {Baseline field: value} for the values the Baseline
  CRF takes from their single source instead of their being typed again (issue 18).
- `crf_guard(fn)`: fn(crf, complete) -> {field: message}: a refusal, raised as a hard error
  (HardLimitExceeded) before anything is saved; `crf` holds the values as they would be stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

BaselineSource = Callable[[Any], dict[str, Any]]
CrfGuard = Callable[[Any, bool], dict[str, str]]

_BASELINE_SOURCES: list[BaselineSource] = []
_CRF_GUARDS: list[CrfGuard] = []


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
