"""How an app below randomization learns one participant's arm, for one unblinding (decision 0019
layers: kernel < … < safety < … < randomization).

The sponsor's safety physician unblinds a suspected SUSAR in the safety app (ICH E2A III.C);
the allocation lives in the randomization app above it. Randomization registers its reader here
when it starts (randomization.apps); the safety service calls `arm_of` only after it has checked
the role, the password and the second factor. Nothing else calls it: exports and dashboards use
randomization.allocation behind its own gates.
"""

from __future__ import annotations

from collections.abc import Callable

_reader: Callable[[object], str | None] | None = None


def register_reader(reader: Callable[[object], str | None]) -> None:
    global _reader  # noqa: PLW0603 — set once, at app start
    _reader = reader


def arm_of(participant) -> str | None:
    """The arm code of a randomized participant, None if not randomized."""
    if _reader is None:
        raise RuntimeError("No allocation reader is registered (randomization app not loaded).")
    return _reader(participant)
