"""What a blinded user must never see (SPEC §1), for the blinded-role crawl.

`leak_markers()` returns strings that must appear on no page, export or file a blinded role can
reach. The randomization issue adds each randomized participant's arm in the forms it could leak
(e.g. "01-0003 … exosome", the pharmacist's dose lines, envelope→arm pairs).
"""

from __future__ import annotations

UNBLINDED_BANNER = "Unblinded view"


def leak_markers() -> list[str]:
    return [UNBLINDED_BANNER]
