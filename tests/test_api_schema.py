"""The API's OpenAPI 3 schema validates, and its docs page is served from the project under the
project's content security policy (issue 22)."""

import re

import pytest
import yaml
from django.core.management import call_command

from kernel.roles import Role

from .api_client import api_get, token_for
from .security_headers import csp_problems

pytestmark = pytest.mark.django_db


def test_the_schema_validates_with_no_warning(tmp_path):
    out = tmp_path / "schema.yaml"
    # --validate checks it against the OpenAPI 3 JSON schema; --fail-on-warn makes any
    # guess drf-spectacular had to make an error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == {
        "/api/v1/sites/",
        "/api/v1/participants/",
        "/api/v1/participants/{study_id}/",
        "/api/v1/participants/{study_id}/visits/",
        "/api/v1/participants/{study_id}/visits/{visit}/crfs/{crf}/",
        "/api/v1/participants/{study_id}/records/{crf}/",
        "/api/v1/adverse-events/",
        "/api/v1/queries/",
        "/api/v1/exports/",
        "/api/v1/exports/{id}/",
        "/api/v1/exports/{id}/download/",
    }
    assert schema["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"
    # Read-only but for starting an export.
    methods = {m for path in schema["paths"].values() for m in path if m != "parameters"}
    assert methods == {"get", "post"}
    assert list(schema["paths"]["/api/v1/exports/"]) == ["get", "post"]
    # No field of any answer is an arm (the differential test proves the answers; this is the
    # promise).
    fields = {
        name for component in schema["components"]["schemas"].values()
        for name in component.get("properties", {})
    }  # fmt: skip
    assert "emergency_unblinded" in fields
    assert not {name for name in fields if "arm" in name or "allocation" in name}


def test_a_token_holder_reads_the_schema(client, make_user):
    response = api_get(client, "/api/schema/", token_for(make_user(Role.SPONSOR)))
    assert response.status_code == 200
    assert b"openapi: 3.0" in response.content


def test_the_docs_page_loads_only_our_own_files(client, make_user, login):
    login(make_user(Role.SPONSOR))
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert not csp_problems(response.get("Content-Security-Policy"))
    body = response.content.decode()
    assert "<style" not in body
    assert not re.search(r"<script>(?!</script>)", body)  # no inline script
    sources = re.findall(r'(?:src|href)="([^"]+)"', body)
    assert sources
    for source in sources:
        assert source.startswith("/"), source  # no CDN, no other origin
        assert client.get(source).status_code == 200, source
