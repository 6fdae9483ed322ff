"""Security headers and the no-inline-code rule the CSP depends on (issue 12, decision 0012).

The role × URL matrix and the crawls check the headers of every signed-in page; here: the pages
before sign-in, errors, and the templates themselves.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings

from .security_headers import csp_problems

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIRS = [ROOT / "templates", *ROOT.glob("*/templates")]

# Inline code the policy would block: a <script> without src, a <style> element, a style
# attribute, an on…= event handler, a javascript: URL.
INLINE_CODE = {
    "inline <script>": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),
    "<style> element": re.compile(r"<style[\s>]", re.IGNORECASE),
    "style attribute": re.compile(r"""\sstyle\s*=\s*["']""", re.IGNORECASE),
    "event handler attribute": re.compile(r"""\son[a-z]+\s*=\s*["']""", re.IGNORECASE),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


def test_no_template_holds_inline_script_style_or_handlers():
    found = []
    for directory in TEMPLATE_DIRS:
        for template in directory.rglob("*.html"):
            text = template.read_text()
            for what, pattern in INLINE_CODE.items():
                for match in pattern.finditer(text):
                    line = text.count("\n", 0, match.start()) + 1
                    found.append(f"{template.relative_to(ROOT)}:{line}: {what}")
    assert not found, "move these into static/js/edc.js or static/css/edc.css:\n" + "\n".join(found)


@pytest.mark.parametrize("path", ["/login/", "/health/", "/health/live/", "/no-such-page/"])
def test_pages_before_sign_in_and_errors_carry_the_strict_policy(client, path):
    response = client.get(path)
    assert not csp_problems(response.get("Content-Security-Policy")), path
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_the_policy_forbids_framing_and_foreign_form_targets(client):
    policy = client.get("/login/")["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert "form-action 'self'" in policy
    assert "object-src 'none'" in policy


def test_browser_features_the_edc_never_uses_are_switched_off(client):
    header = client.get("/login/")["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in header


def test_hsts_is_on_for_a_year_outside_debug():
    # tests.settings keeps DEBUG off, as in production (the HTTPS redirect is off for the client).
    assert settings.SECURE_HSTS_SECONDS == 31_536_000
    assert settings.SECURE_HSTS_INCLUDE_SUBDOMAINS is True


def test_htmx_is_told_not_to_add_its_own_style_element(client):
    body = client.get("/login/").content.decode()
    assert '"includeIndicatorStyles": false' in body
