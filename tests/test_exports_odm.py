"""odm.xml is CDISC ODM 1.3.2 and validates against the official schema (odmlib ships it)."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import odmlib
import pytest
import xmlschema
from django.core.management import call_command

from outcomes.models import CRF_MODELS

from .exports_data import build_trial

pytestmark = pytest.mark.django_db

ODM_XSD = Path(odmlib.__file__).parent / "schemas" / "odm" / "1.3.2" / "ODM1-3-2.xsd"
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}


@pytest.fixture(scope="module")
def schema():
    return xmlschema.XMLSchema(str(ODM_XSD))


@pytest.fixture
def odm_file(site01, roles, tmp_path):
    build_trial(site01)
    call_command("export_ipd", "--out", str(tmp_path))
    return tmp_path / "odm.xml"


def test_the_official_schema_is_odm_1_3_2(schema):
    assert schema.target_namespace == NS["odm"]
    assert ODM_XSD.name == "ODM1-3-2.xsd"


def test_the_odm_file_validates_against_the_official_xsd(schema, odm_file):
    schema.validate(str(odm_file))  # raises with the first error


def test_the_odm_file_carries_metadata_and_one_subject_per_export_id(odm_file, tmp_path):
    root = ElementTree.parse(odm_file).getroot()  # noqa: S314 - our own file, just written
    assert root.get("ODMVersion") == "1.3.2"
    version = root.find("odm:Study/odm:MetaDataVersion", NS)
    forms = {f.get("OID") for f in version.findall("odm:FormDef", NS)}
    assert {f"F.{code}" for code in CRF_MODELS} | {"F.participants", "F.adverse_events"} <= forms
    events = {e.get("OID") for e in version.findall("odm:StudyEventDef", NS)}
    assert {"SE.D0", "SE.D60", "SE.STUDY"} <= events
    weight = version.find("odm:ItemDef[@OID='IT.baseline.weight_kg']", NS)
    assert weight.get("DataType") == "float"
    assert weight.find("odm:MeasurementUnitRef", NS).get("MeasurementUnitOID") == "MU.kg"
    assert version.find("odm:CodeList[@OID='CL.clinical_status.status_score']", NS) is not None
    subjects = [s.get("SubjectKey") for s in root.findall("odm:ClinicalData/odm:SubjectData", NS)]
    ids = [
        line.split(",")[0] for line in (tmp_path / "participants.csv").read_text().splitlines()[1:]
    ]
    assert subjects == ids
    assert version.find("odm:ItemDef[@Name='arm']", NS) is None


def test_a_broken_file_does_not_validate(schema, odm_file):
    """The validation has teeth: an element out of place is refused."""
    text = odm_file.read_text().replace("<GlobalVariables>", "<GlobalVariables><Oops/>", 1)
    assert not schema.is_valid(text)
