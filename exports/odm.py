"""CDISC ODM 1.3.2 written as a stream (xml.sax's XMLGenerator): metadata first, then one
SubjectData per export ID as its rows arrive, sorted by export ID.

Element order follows the ODM 1.3.2 schema (ODM1-3-2-foundation.xsd); tests validate the file
against the official XSD shipped by odmlib.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from xml.sax.saxutils import XMLGenerator, quoteattr

from kernel.trial import TRIAL

from .columns import FLOAT, INTEGER, PARTICIPANTS, REPEATING, Table

# The tables of the participant-level event (not of a visit).
PARTICIPANT_LEVEL = (PARTICIPANTS, *REPEATING)

NAMESPACE = "http://www.cdisc.org/ns/odm/v1.3"
STUDY_OID = f"ST.{TRIAL.registry_id}"
MDV_OID = "MDV.IPD"
STUDY_EVENT = "STUDY"  # the participant-level event: participants and AE forms
_DATATYPES = {INTEGER: "integer", FLOAT: "float"}
_FLUSH_EVERY = 4096  # strings of clinical data gathered before one write


def _oid(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


def unit_oid(unit: str) -> str:
    return f"MU.{_oid(unit)}"


# The characters quoteattr changes: without any of them a value is written as it is, in double
# quotes (most values: numbers, codes, study days).
_ESCAPED = re.compile(r'[&<>"\n\r\t]')


def attribute(value: str) -> str:
    """`quoteattr(value)`, the very same string, without its four replace calls for a value that
    needs none of them: one per value exported, the export's hot path (docs/performance.md)."""
    return quoteattr(value) if _ESCAPED.search(value) else f'"{value}"'


class OdmWriter:
    def __init__(self, stream, *, tables: list[Table], file_oid: str, created: datetime):
        self.xml = XMLGenerator(stream, encoding="utf-8", short_empty_elements=True)
        self.tables = {t.code: t for t in tables}
        # Per table: its item columns, each with the opening of its ItemData element up to the
        # value, and the opening of its ItemGroupData element.
        self._items = {
            t.code: [
                (c.name, f"<ItemData ItemOID={quoteattr(f'IT.{t.code}.{c.name}')} Value=")
                for c in self.items(t)
            ]
            for t in tables
        }
        self._item_openings = {
            code: [item for _n, item in items] for code, items in self._items.items()
        }
        self._group_opening = {
            t.code: f"<ItemGroupData ItemGroupOID={quoteattr(f'IG.{t.code}')}" for t in tables
        }
        self._form_openings = {
            t.code: f"<FormData FormOID={quoteattr(f'F.{t.code}')}>" for t in tables
        }
        self._event_openings: dict[str, str] = {}
        self._pending: list[str] = []  # clinical data not yet handed to the stream
        self.order = [t.code for t in tables]
        self.file_oid = file_oid
        self.created = created
        self._subject = self._event = self._form = None

    # -- helpers ------------------------------------------------------------------------------
    def _open(self, name: str, **attrs) -> None:
        self.xml.startElement(name, {k.replace("__", ":"): str(v) for k, v in attrs.items()})

    def _close(self, name: str) -> None:
        self.xml.endElement(name)

    def _empty(self, name: str, **attrs) -> None:
        self._open(name, **attrs)
        self._close(name)

    def _text(self, name: str, text: str) -> None:
        self._open(name)
        self._open("TranslatedText", xml__lang="en")
        self.xml.characters(text)
        self._close("TranslatedText")
        self._close(name)

    @staticmethod
    def items(table: Table):
        return [c for c in table.columns if c.name not in table.keys]

    @staticmethod
    def event_of(table: Table, row: dict) -> str:
        return STUDY_EVENT if table.code in PARTICIPANT_LEVEL else row["visit"]

    # -- metadata -----------------------------------------------------------------------------
    def start(self) -> None:
        self.xml.startDocument()
        self._open(
            "ODM",
            xmlns=NAMESPACE,
            FileType="Snapshot",
            FileOID=self.file_oid,
            CreationDateTime=self.created.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
            ODMVersion="1.3.2",
            SourceSystem="Trial EDC",
        )
        self._open("Study", OID=STUDY_OID)
        self._open("GlobalVariables")
        for name, text in (
            ("StudyName", TRIAL.acronym),
            ("StudyDescription", TRIAL.scientific_title),
            ("ProtocolName", TRIAL.registry_id),
        ):
            self._open(name)
            self.xml.characters(text)
            self._close(name)
        self._close("GlobalVariables")
        units = sorted({c.unit for t in self.tables.values() for c in self.items(t) if c.unit})
        if units:
            self._open("BasicDefinitions")
            for unit in units:
                self._open("MeasurementUnit", OID=unit_oid(unit), Name=unit)
                self._text("Symbol", unit)
                self._close("MeasurementUnit")
            self._close("BasicDefinitions")
        self._metadata_version()
        self._close("Study")
        self._open("ClinicalData", StudyOID=STUDY_OID, MetaDataVersionOID=MDV_OID)

    def _events(self) -> list[tuple[str, list[str]]]:
        crf_tables = [c for c in self.order if c not in PARTICIPANT_LEVEL]
        events = [(STUDY_EVENT, [c for c in PARTICIPANT_LEVEL if c in self.order])]
        for visit in TRIAL.visits:
            events.append((visit.code, [c for c in visit.crfs if c in crf_tables]))
        return events

    def _metadata_version(self) -> None:
        self._open("MetaDataVersion", OID=MDV_OID, Name="De-identified IPD")
        events = self._events()
        self._open("Protocol")
        for number, (code, _forms) in enumerate(events, start=1):
            self._empty("StudyEventRef", StudyEventOID=f"SE.{code}", OrderNumber=number,
                        Mandatory="No")  # fmt: skip
        self._close("Protocol")
        for code, forms in events:
            study_type = "Common" if code == STUDY_EVENT else "Scheduled"
            self._open("StudyEventDef", OID=f"SE.{code}", Name=code, Repeating="No",
                       Type=study_type)  # fmt: skip
            for number, form in enumerate(forms, start=1):
                self._empty("FormRef", FormOID=f"F.{form}", OrderNumber=number, Mandatory="No")
            self._close("StudyEventDef")
        for table in self.tables.values():
            self._open("FormDef", OID=f"F.{table.code}", Name=table.label, Repeating="No")
            self._empty("ItemGroupRef", ItemGroupOID=f"IG.{table.code}", Mandatory="Yes")
            self._close("FormDef")
        for table in self.tables.values():
            repeating = "Yes" if table.code in REPEATING else "No"
            self._open("ItemGroupDef", OID=f"IG.{table.code}", Name=table.label,
                       Repeating=repeating)  # fmt: skip
            for number, column in enumerate(self.items(table), start=1):
                self._empty("ItemRef", ItemOID=f"IT.{table.code}.{column.name}",
                            OrderNumber=number, Mandatory="No")  # fmt: skip
            self._close("ItemGroupDef")
        for table in self.tables.values():
            for column in self.items(table):
                self._open("ItemDef", OID=f"IT.{table.code}.{column.name}", Name=column.name,
                           DataType=_DATATYPES.get(column.kind, "text"))  # fmt: skip
                self._text("Question", column.label)
                if column.unit:
                    self._empty("MeasurementUnitRef", MeasurementUnitOID=unit_oid(column.unit))
                if column.codes:
                    self._empty("CodeListRef", CodeListOID=f"CL.{table.code}.{column.name}")
                self._close("ItemDef")
        for table in self.tables.values():
            for column in self.items(table):
                if not column.codes:
                    continue
                self._open("CodeList", OID=f"CL.{table.code}.{column.name}", Name=column.name,
                           DataType=_DATATYPES.get(column.kind, "text"))  # fmt: skip
                for value, label in column.codes:
                    self._open("CodeListItem", CodedValue=value)
                    self._text("Decode", label)
                    self._close("CodeListItem")
                self._close("CodeList")
        self._close("MetaDataVersion")

    # -- clinical data ------------------------------------------------------------------------
    # The ClinicalData section is written as strings, the very bytes XMLGenerator's
    # startElement/endElement made (tests/test_exports_copy.py keeps that writer as the
    # reference): one ItemGroupData string per row, the SubjectData, StudyEventData and
    # FormData elements opened and closed around them as the subject, event and form change.

    def item_group(self, table_code: str, values: Sequence[str], repeat_key: str = "") -> str:
        """The ItemGroupData element of one row: `values` are the table's item values in the
        order of `items(table)`, each a string, "" for no value (no ItemData)."""
        opening = self._group_opening[table_code]
        if table_code in REPEATING:
            opening = f"{opening} ItemGroupRepeatKey={quoteattr(repeat_key)}"
        items = self._item_openings[table_code]
        if _ESCAPED.search("".join(values)):  # a value to escape: each through quoteattr
            data = "".join(
                [f"{i}{attribute(v)}/>" for i, v in zip(items, values, strict=True) if v]
            )
        else:  # none (most rows): every value as it is, in double quotes
            data = "".join([f'{i}"{v}"/>' for i, v in zip(items, values, strict=True) if v])
        return f"{opening}>{data}</ItemGroupData>" if data else f"{opening}/>"

    def row_values(self, table_code: str, row: dict) -> list[str]:
        """A row given as a dict of Python values (the participants): its item values as
        strings for `item_group` (None or "" is no value)."""
        values = []
        for name, _item in self._items[table_code]:
            value = row.get(name)
            values.append("" if value is None or value == "" else str(value))
        return values

    def group(self, subject: str, event: str, table_code: str, item_group: str) -> None:
        """Write an ItemGroupData element (`item_group`) of `subject`'s form `table_code` at
        `event`, rows arriving sorted by subject, then event."""
        out = self._pending
        if not out and self._subject is None:
            self.xml._finish_pending_start_element()  # ClinicalData's '>'
        if subject != self._subject:
            self._end_subject(out)
            out.append(f"<SubjectData SubjectKey={quoteattr(subject)}>")
            self._subject = subject
        if event != self._event:
            self._end_event(out)
            opening = self._event_openings.get(event)
            if opening is None:
                opening = f"<StudyEventData StudyEventOID={quoteattr(f'SE.{event}')}>"
                self._event_openings[event] = opening
            out.append(opening)
            self._event = event
        if table_code != self._form:
            self._end_form(out)
            out.append(self._form_openings[table_code])
            self._form = table_code
        out.append(item_group)
        if len(out) >= _FLUSH_EVERY:
            self._flush_pending()

    def _flush_pending(self) -> None:
        if self._pending:
            self.xml._write("".join(self._pending))
            self._pending = []

    def _end_form(self, out: list[str]) -> None:
        if self._form is not None:
            out.append("</FormData>")
            self._form = None

    def _end_event(self, out: list[str]) -> None:
        self._end_form(out)
        if self._event is not None:
            out.append("</StudyEventData>")
            self._event = None

    def _end_subject(self, out: list[str]) -> None:
        self._end_event(out)
        if self._subject is not None:
            out.append("</SubjectData>")
            self._subject = None

    def finish(self) -> None:
        self._end_subject(self._pending)
        self._flush_pending()
        self._close("ClinicalData")
        self._close("ODM")
        self.xml.endDocument()
