"""All pages of the product, gathered from tests/pages_<app>.py, and the world they need."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from types import SimpleNamespace

_MODULES = [
    import_module(f"tests.{path.stem}") for path in sorted(Path(__file__).parent.glob("pages_*.py"))
]

PAGES: dict = {}
for _module in _MODULES:
    for _key, _entry in _module.PAGES.items():
        assert _key not in PAGES, f"page key {_key!r} is defined twice"
        PAGES[_key] = _entry


def build_world(participant) -> SimpleNamespace:
    """The objects the pages are opened for; each pages module may add its own."""
    world = SimpleNamespace(participant=participant)
    for module in _MODULES:
        prepare = getattr(module, "prepare", None)
        if prepare is not None:
            prepare(world)
    return world
