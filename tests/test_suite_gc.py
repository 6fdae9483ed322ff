"""The test processes' garbage collector as tests/conftest.py sets it (docs/performance.md,
"Suite time, the garbage collector")."""

import gc

from .conftest import GC_YOUNG_THRESHOLD


def test_young_objects_are_collected_every_ten_thousand_allocations():
    assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD == 10_000
    assert gc.isenabled()


def test_what_was_alive_after_collection_is_frozen_out_of_the_full_collections():
    assert gc.get_freeze_count() > 10_000
