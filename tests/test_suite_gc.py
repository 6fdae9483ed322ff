"""The test processes' garbage collector as tests/conftest.py sets it (docs/performance.md,
"Suite time, the garbage collector")."""

import gc

from .conftest import GC_YOUNG_THRESHOLD, PYTHON_GC_THRESHOLD, gc_as_python_has_it, gc_for_tests


def test_young_objects_are_collected_every_ten_thousand_allocations():
    assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD == 10_000
    assert gc.isenabled()


def test_what_was_alive_after_collection_is_frozen_out_of_the_full_collections():
    assert gc.get_freeze_count() > 10_000


def test_the_benchmarks_get_pythons_own_collector_back():
    """tests/bench/conftest.py calls gc_as_python_has_it before any benchmark."""
    assert PYTHON_GC_THRESHOLD[0] != GC_YOUNG_THRESHOLD
    try:
        gc_as_python_has_it()
        assert gc.get_threshold() == PYTHON_GC_THRESHOLD
        assert gc.get_freeze_count() == 0
    finally:
        gc_for_tests()
        gc.freeze()
