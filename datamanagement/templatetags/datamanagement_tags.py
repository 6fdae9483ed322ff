"""The data-management widgets other pages include, so they look the same everywhere:

- `{% field_queries "fio2" %}`: the queries on one field of the CRF in the context (`visit`,
  `crf_code`), with the steps the user may take in place; `{% field_queries "" %}` for the
  queries on the whole CRF;
- `{% crf_record_status visit crf_code [crf] %}`: lock, signatures (name, date/time, meaning; voided
  visibly) and SDV progress of one CRF;
- `{% casebook_status participant %}`: the same for a participant's casebook;
- `{% crf_lock visit crf_code as lock %}`: the active lock covering a CRF, or None;
- `{% record_status participant crf_code %}`: lock, signatures and SDV progress of a casebook
  record of no visit (the vital signs at screening); `{% field_queries %}` works on such a
  record too when the context has `participant` and `crf_code` but no `visit`;
- `{% record_queries participant crf_code %}`: every query on such a record, field by field,
  answered in place (the page where the site enters it).
"""

from __future__ import annotations

from django import template

from datamanagement import selectors
from outcomes.models import CRF_MODELS

register = template.Library()


def _intact_cache(request) -> dict:
    cache = getattr(request, "_dm_signatures_intact", None)
    if cache is None:
        cache = request._dm_signatures_intact = {}
    return cache


def _crf_queries(request, visit, crf_code, participant=None) -> dict:
    cache = getattr(request, "_dm_queries", None)
    if cache is None:
        cache = request._dm_queries = {}
    key = (visit.pk, crf_code) if visit is not None else ("participant", participant.pk, crf_code)
    if key not in cache:
        cache[key] = (
            selectors.queries_on_crf(visit, crf_code)
            if visit is not None
            else selectors.queries_on_record(participant, crf_code)
        )
    return cache[key]


def _lock_for_crf(request, visit, crf_code):
    """The lock covering a CRF, read once per page (the status box and the read-only switch
    both ask)."""
    return selectors.lock_for_crf(visit, crf_code, of_visit=selectors.visit_records(request, visit))


# The CRF record argument of `crf_record_status` when the page does not give it.
_NOT_GIVEN = object()


def _crf_shown(context, visit, crf_code, given=_NOT_GIVEN) -> tuple[object, bool]:
    """(the CRF, True) when the page already read it: given to the tag (None: none is saved) or
    the form view's `crf`, if it is this one, on a GET (a form posted back holds the typed
    values in its instance, not the stored ones); else (None, False) and the SDV box reads
    it."""
    request = context.get("request")
    if request is None or request.method != "GET":
        return None, False
    model = CRF_MODELS.get(crf_code)
    if model is None:
        return None, False
    if given is not _NOT_GIVEN:
        if given is None:
            return None, True
        if isinstance(given, model) and given.pk and given.visit_id == visit.pk:
            return given, True
        return None, False
    crf = context.get("crf")
    if isinstance(crf, model) and crf.pk and crf.visit_id == visit.pk:
        return crf, True
    return None, False


@register.inclusion_tag("datamanagement/_field_queries.html", takes_context=True)
def field_queries(context, field_name: str = "") -> dict:
    request = context.get("request")
    visit, crf_code = context.get("visit"), context.get("crf_code")
    participant = visit.participant if visit is not None else context.get("participant")
    user = getattr(request, "user", None)
    if (
        request is None
        or participant is None
        or not crf_code
        or (visit is None and crf_code not in selectors.VISITLESS_RECORDS)
        or not user.has_perm("datamanagement.view_query")
    ):
        return {"show": False}
    return {
        "show": True,
        "queries": _crf_queries(request, visit, crf_code, participant).get(field_name, []),
        "field_name": field_name,
        "field_label": selectors.field_label(crf_code, field_name),
        "participant": participant,
        "visit": visit,
        "crf_code": crf_code,
        "request": request,
        "perms": context.get("perms"),
        "can_raise": user.has_perm("datamanagement.raise_query"),
    }


@register.inclusion_tag("datamanagement/_query.html", takes_context=True)
def query_widget(context, query, step_form=None) -> dict:
    request = context.get("request")
    actions = selectors.query_actions(query, request.user)
    if step_form is None and actions:
        from datamanagement.forms import QueryStepForm

        # The step carries the version of the thread shown (kernel.concurrency).
        step_form = QueryStepForm(prefix=f"q{query.pk}", edited_by=request.user, versioned=[query])
    return {"query": query, "step_form": step_form, "actions": actions}


@register.inclusion_tag("datamanagement/_record_status.html", takes_context=True)
def crf_record_status(context, visit, crf_code: str, crf=_NOT_GIVEN) -> dict:
    """`crf`: the CRF record where the page read it (None: not saved), else it is read here."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("datamanagement.view_signature"):
        return {"show": False}
    records = selectors.visit_records(request, visit)
    shown, read = _crf_shown(context, visit, crf_code, crf)
    return {
        "show": True,
        "visit": visit,
        "participant": visit.participant,
        "crf_code": crf_code,
        "lock": _lock_for_crf(request, visit, crf_code),
        "signatures": selectors.signatures_shown_with(
            visit.participant,
            visit=visit,
            crf_code=crf_code,
            intact=_intact_cache(request),
            of_visit=records,
        ),
        "sdv": selectors.sdv_of_crf(visit, crf_code, crf=shown, crf_read=read, of_visit=records)
        if selectors.sdv_required_fields(crf_code)
        else None,
        "perms": context.get("perms"),
    }


def _visitless_request(context, participant, crf_code: str, permission: str):
    """The page's request when it shows a casebook record of no visit to a user holding
    `permission`; None when the record's widget is not shown."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if (
        user is None
        or participant is None
        or crf_code not in selectors.VISITLESS_RECORDS
        or not user.has_perm(permission)
    ):
        return None
    return request


@register.inclusion_tag("datamanagement/_record_status.html", takes_context=True)
def record_status(context, participant, crf_code: str) -> dict:
    """`crf_record_status` for a casebook record of no visit (the vital signs at screening)."""
    request = _visitless_request(context, participant, crf_code, "datamanagement.view_signature")
    if request is None:
        return {"show": False}
    return {
        "show": True,
        "participant": participant,
        "crf_code": crf_code,
        "lock": selectors.lock_for_record(participant, crf_code),
        "signatures": selectors.signatures_shown_with(
            participant, crf_code=crf_code, intact=_intact_cache(request)
        ),
        "sdv": selectors.sdv_of_crf(None, crf_code, participant=participant)
        if selectors.sdv_required_fields(crf_code)
        else None,
        "perms": context.get("perms"),
    }


@register.inclusion_tag("datamanagement/_record_queries.html", takes_context=True)
def record_queries(context, participant, crf_code: str) -> dict:
    """Every query on a casebook record of no visit, with the field each is on: shown on the
    page where the site enters the record, answered there in place."""
    request = _visitless_request(context, participant, crf_code, "datamanagement.view_query")
    if request is None:
        return {"show": False}
    by_field = _crf_queries(request, None, crf_code, participant)
    return {
        "show": True,
        "fields": [
            {"label": selectors.field_label(crf_code, name), "queries": queries}
            for name, queries in by_field.items()
        ],
        "participant": participant,
        "crf_code": crf_code,
        "request": request,
    }


@register.inclusion_tag("datamanagement/_casebook_status.html", takes_context=True)
def casebook_status(context, participant) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("datamanagement.view_signature"):
        return {"show": False}
    return {
        "show": True,
        "participant": participant,
        "lock": selectors.lock_for_participant(participant),
        "signatures": [
            s
            for s in selectors.signatures_shown_with(participant, intact=_intact_cache(request))
            if s.signature.level == "casebook"
        ],
        "perms": context.get("perms"),
    }


@register.simple_tag(takes_context=True)
def crf_lock(context, visit, crf_code: str):
    return _lock_for_crf(context.get("request"), visit, crf_code)


@register.filter
def ageing_band(days: int) -> str:
    return selectors.ageing_band(days)
