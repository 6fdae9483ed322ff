"""What a blinded user must never see (SPEC §1), for the blinded-role crawl.

`leak_markers()` returns strings that must appear on no page, export or file a blinded role can
reach. Besides the unblinded banner: every rendering of an arm or a seed in our templates carries
`data-arm=` / `data-seed=`; an arm label as an element's whole text;
each list's seed (it regenerates the list); each slot's envelope→arm pair as in the list CSV;
the pharmacist's dose and arm blocks and the emergency-unblinding answer (by their test IDs).
The differential test (tests/test_randomization_blinding.py) catches what markers cannot.
"""

from __future__ import annotations

UNBLINDED_BANNER = "Unblinded view"


def leak_markers() -> list[str]:
    from kernel.trial import TRIAL
    from randomization.models import RandomizationList, Slot

    markers = [
        UNBLINDED_BANNER,
        "data-arm=",
        "data-seed=",
        'data-testid="dose"',
        'data-testid="pharmacy-arm"',
        'data-testid="revealed-arm"',
    ]
    markers += [f">{arm.label}<" for arm in TRIAL.arms]
    markers += [
        str(seed)
        for seed in RandomizationList.objects.exclude(seed=None).values_list("seed", flat=True)
        if seed >= 10**6  # short seeds would match unrelated numbers
    ]
    markers += [
        f"{code},{arm}"
        for code, arm in Slot.objects.filter(randomization__isnull=False).values_list(
            "envelope_code", "arm"
        )
    ]
    return markers
