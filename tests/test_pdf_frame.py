"""Every PDF of the product is built on the one frame, kernel.pdf.Report (issue 23): the same
header on every page (trial, title, page x of y, when and by whom), the same escaping."""

import ast
import inspect
from importlib import import_module
from io import BytesIO
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from pypdf import PdfReader

from kernel import pdf as frame
from kernel.roles import Role
from kernel.trial import TRIAL

from .factories import ParticipantFactory
from .pages import PAGES, build_world

ROOT = Path(__file__).resolve().parent.parent
# Apps whose modules are the product (not tests, docs, the virtualenv or the local database).
_APPS = sorted(p.parent.name for p in ROOT.glob("*/apps.py"))
# What builds a reportlab document or draws a page by hand.
_DOCUMENT_BUILDERS = {"SimpleDocTemplate", "BaseDocTemplate", "DocTemplate", "Canvas"}


def _product_modules():
    for app in sorted(set(_APPS)):
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def test_only_the_frame_builds_a_reportlab_document():
    builders = []
    for path in _product_modules():
        if path == ROOT / "kernel" / "pdf.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("reportlab"):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.Attribute):
                names = [node.attr]
            builders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n in _DOCUMENT_BUILDERS]
    assert not builders, f"build the PDF on kernel.pdf.Report instead: {builders}"


def test_every_report_class_is_a_subclass_of_the_frame():
    reports = []
    for path in _product_modules():
        if path.name != "pdf.py" or path.parent.name == "kernel":
            continue
        module = import_module(f"{path.parent.name}.pdf")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and hasattr(cls, "get_story"):
                reports.append(cls)
                assert issubclass(cls, frame.Report), f"{cls.__qualname__} is not a trialedc Report"
    names = {cls.__name__ for cls in reports}
    assert {"CiomsReport", "AeListingReport", "PharmacyListReport", "DsmbReport"} <= names


def _pdf_url_names(patterns, namespace=""):
    """The names of the URLs that serve a PDF built on request (their route ends in .pdf)."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _pdf_url_names(entry.url_patterns, ns)
        elif isinstance(entry, URLPattern) and str(entry.pattern).endswith(".pdf"):
            yield f"{namespace}{entry.name}"


_PDF_URLS = set(_pdf_url_names(get_resolver().url_patterns))
_PDF_PAGES = sorted(key for key, (name, _, _) in PAGES.items() if name in _PDF_URLS)


def test_every_pdf_url_is_checked_for_the_header():
    """The header test below runs on every PDF of the matrix: a new one comes in by itself."""
    assert {PAGES[key][0] for key in _PDF_PAGES} == _PDF_URLS
    assert {
        "safety:cioms_pdf",
        "safety:ae_listing_pdf",
        "randomization:pharmacy_pdf",
        "dashboards:dsmb_closed_pdf",
    } <= _PDF_URLS


@pytest.mark.django_db
@pytest.mark.parametrize("page", _PDF_PAGES)
def test_the_first_page_of_every_pdf_carries_the_shared_header(
    client, site01, roles, make_user, login, page
):
    _, build, allowed = PAGES[page]
    world = build_world(ParticipantFactory(site=site01))
    role = sorted(allowed, key=list(Role).index)[0]
    login(make_user(role, username=f"frame-{role.value}"))
    response = client.get(build(world))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    first = PdfReader(BytesIO(response.content)).pages[0].extract_text()
    total = len(PdfReader(BytesIO(response.content)).pages)
    assert f"{TRIAL.acronym} · {TRIAL.registry_id} · " in first
    assert f"Page 1 of {total}" in first
    assert "Generated " in first


def test_a_report_built_with_nobody_signed_in_says_when_only():
    class Note(frame.Report):
        title = "Note"

        def get_story(self):
            return [frame.para("<b>not bold</b> & text")]

    text = PdfReader(BytesIO(Note().render())).pages[0].extract_text()
    assert "Page 1 of 1" in text
    assert "Generated " in text
    assert " by " not in text
    assert "<b>not bold</b> & text" in text  # escaped, not read as markup
