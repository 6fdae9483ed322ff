"""A crispy-forms layout rendered in Python: the HTML of `{% crispy form %}` (bootstrap5 pack)
for the layout objects and widgets our CRF forms use, without crispy's three or four templates
per field (issue 24: they were half of a CRF page's CPU).

Each function below is one of crispy-bootstrap5's templates, transcribed with the settings of
our forms' helpers (no form tag, labels and errors shown, errors inline, help text as a block, no
horizontal layout, no label, field or wrapper classes): the same tags, attributes, escaping and
text, and the same whitespace where it survives crispy's `specialspaceless` (whitespace next to
text; runs of one or two characters between tags). The widgets themselves are rendered by
Django's form renderer, as crispy has them rendered (`str(bound_field)`).

A layout object or field this module does not know (a hidden field, a file field, a
multi-widget, attributes or templates on a layout object, another helper setting) is rendered
by crispy itself, so the output is crispy's in every case.
`tests/test_form_html.py` compares both for every CRF form, bound with errors and unbound, in
each language.
"""

from __future__ import annotations

from functools import lru_cache

from crispy_forms.bootstrap import AppendedText, InlineRadios
from crispy_forms.layout import HTML, Div, Field, Layout
from crispy_forms.templatetags.crispy_forms_utils import remove_spaces
from django import forms
from django.template import Context, Template
from django.template.defaultfilters import unordered_list
from django.template.defaulttags import CsrfTokenNode
from django.utils.formats import localize
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe

# Whitespace crispy's templates leave between two tags: three characters or more, which
# `specialspaceless` (remove_spaces) turns into one space, as it does crispy's.
GAP = "\n    "


class NotTranscribed(Exception):
    """This layout (or field) is rendered by crispy itself."""


@lru_cache(maxsize=256)
def _compiled(html: str) -> Template:
    # crispy compiles an HTML object's text on every render; compiled once here (the text is
    # the layout's, fixed per form class: the data-management query widget of one field).
    return Template(html)


def helper_is_transcribed(helper) -> bool:
    """The helper settings the functions below assume (crispy's defaults, no form tag)."""
    return (
        not helper.form_tag
        and helper.form_show_errors
        and helper.form_show_labels
        and helper.error_text_inline
        and not helper.help_text_inline
        and not helper.label_class
        and not helper.field_class
        and not helper.form_class
        and not helper.inputs
        and not helper.form_error_title
        and helper.field_template is None
        and not helper.render_unmentioned_fields
        and not helper.render_hidden_fields
        and not helper.render_required_fields
        and helper.template is None
        and helper.layout is not None
    )


def render_crispy_layout(form, context: Context) -> SafeString:
    """`{% crispy form %}` of a form whose helper has no form tag: the CSRF input, the form's
    errors and its layout, as crispy's whole_uni_form.html gives them."""
    helper = form.helper
    if not helper_is_transcribed(helper):
        raise NotTranscribed("helper")
    _check(helper.layout, form)
    parts = [GAP]
    if helper.form_method.lower() == "post" and not helper.disable_csrf:
        parts.append(CsrfTokenNode().render(context))
    parts.append(GAP)
    if helper.include_media:
        parts.append(str(form.media))
    parts.append(GAP)
    parts.append(_errors(form))
    parts.append(_layout(helper.layout, form, context))
    parts.append(GAP)
    # whole_uni_form.html: two newlines before its `specialspaceless`, one after.
    return mark_safe(f"\n\n{remove_spaces(''.join(parts).strip())}\n")  # noqa: S308 — escaped parts


def _errors(form) -> str:
    errors = form.non_field_errors()
    if not errors:
        return ""
    return (
        f'<div class="alert alert-block alert-danger">{GAP}<ul class="m-0">{GAP}'
        f"{unordered_list(errors, autoescape=True)}{GAP}</ul>{GAP}</div>{GAP}"
    )


def _layout(layout: Layout, form, context: Context) -> str:
    return "".join(_item(item, form, context) for item in layout.fields)


def _check(layout, form) -> None:
    """Raise NotTranscribed, before anything is rendered, for what crispy must render."""
    for item in layout.fields:
        if isinstance(item, HTML) and type(item) is HTML:
            continue
        if type(item) is Div:
            if item.css_id or item.flat_attrs or item.template != Div.template:
                raise NotTranscribed("div")
            _check(item, form)
            continue
        if type(item) not in (Field, AppendedText, InlineRadios):
            raise NotTranscribed(type(item).__name__)
        if item.attrs or item.wrapper_class or len(item.fields) != 1:
            raise NotTranscribed("field")
        if item.template != type(item).template:
            raise NotTranscribed("template")
        if type(item) is AppendedText and (item.prepended_text or item.input_size):
            raise NotTranscribed("prepended")
        name = item.fields[0]
        if not isinstance(name, str) or name not in form.fields:
            raise NotTranscribed(str(name))
        if not _field_is_transcribed(form[name]):
            raise NotTranscribed(name)


def _item(item, form, context: Context) -> str:
    if isinstance(item, HTML):
        return _compiled(str(item.html)).render(context)
    if isinstance(item, Div):
        class_attr = f'class="{item.css_class}"' if item.css_class else ""
        inner = _layout(item, form, context)
        # div.html: its file's last newline follows the tag (kept: one character).
        return f"<div  \n    {class_attr} >{GAP}{inner}\n</div>\n"
    bound = form[item.fields[0]]
    if type(item) is AppendedText:
        return _appended_text(bound, item.appended_text)
    if type(item) is InlineRadios:
        return _radioselect_inline(bound)
    return _field(bound)


def _field_is_transcribed(bound) -> bool:
    widget = bound.field.widget
    return not (
        bound.is_hidden
        or isinstance(widget, forms.FileInput | forms.MultiWidget | forms.CheckboxSelectMultiple)
        or hasattr(widget, "widgets")
        or hasattr(widget, "widget")
    )


def _text(value) -> str:
    """`{{ value }}` in a template: localized, then escaped."""
    return conditional_escape(localize(value))


def _unlocalized(value) -> str:
    """`{{ value|unlocalize }}`."""
    return conditional_escape(str(localize(value, use_l10n=False)))


def _required(bound) -> tuple[str, str]:
    """The label's class and its mark when the field is required."""
    if bound.field.required:
        return " requiredField", '<span class="asteriskField">*</span>'
    return "", ""


def _widget(bound, css: str) -> str:
    """crispy's `{% crispy_field field 'class' css %}`: the widget's class name, then the
    classes, added to the widget's own (kept on the widget, as crispy keeps them)."""
    widget = bound.field.widget
    class_name = widget.__class__.__name__.lower()
    css_class = widget.attrs.get("class", "")
    if css_class:
        if css_class.find(class_name) == -1:
            css_class += f" {class_name}"
    else:
        css_class = class_name
    widget.attrs["class"] = css_class
    for name in css.split():
        if name not in widget.attrs["class"].split():
            widget.attrs["class"] += " " + name
    return str(bound)


def _input_class(bound) -> str:
    """The classes crispy-bootstrap5's field.html gives the widget: a check box's, a select's or
    a text control's, marked invalid when the field has errors."""
    widget = bound.field.widget
    if isinstance(widget, forms.CheckboxInput):
        css = "form-check-input"
    elif isinstance(widget, forms.Select):
        css = "form-select"
    else:
        css = "form-control"
    return f"{css} is-invalid" if bound.errors else css


def _help_text(bound) -> str:
    """help_text.html (a block, not inline)."""
    if not bound.help_text:
        return ""
    id_attr = f'id="{escape(bound.auto_id)}_helptext" ' if bound.auto_id else ""
    return f'{GAP}<div {id_attr}class="form-text">{bound.help_text}</div>{GAP}'


def _field_errors(bound, tag: str) -> str:
    """field_errors.html (tag "span") and field_errors_block.html (tag "p")."""
    if not bound.errors:
        return ""
    auto_id = escape(bound.auto_id)
    items = "".join(
        f'{GAP}<{tag} id="error_{n}_{auto_id}"><strong>{_text(error)}</strong></{tag}>{GAP}'
        for n, error in enumerate(bound.errors, start=1)
    )
    return (
        f'{GAP}<div id="{_text(bound.errors.field_id)}_error" class="invalid-feedback">'
        f"{items}{GAP}</div>{GAP}"
    )


def _help_text_and_errors(bound) -> str:
    return f"{GAP}{_field_errors(bound, 'span')}{GAP}{_help_text(bound)}{GAP}"


def _attrs(attrs: dict) -> str:
    """layout/attrs.html."""
    out = []
    for name, value in attrs.items():
        if value is not False:
            out.append(f" {_text(name)}")
            if value is not True:
                out.append(f'="{escape(str(value))}"')
    return "".join(out)


def _options(bound, *, inline: bool) -> str:
    """radio_checkbox_select.html."""
    widget = bound.field.widget
    id_ = widget.attrs.get("id") or bound.auto_id
    attrs = bound.build_widget_attrs({"id": id_} if id_ else {})
    values = widget.format_value(bound.value())
    groups = widget.optgroups(bound.html_name, values, attrs)
    invalid = " is-invalid" if bound.errors else ""
    inline_class = " form-check-inline" if inline else ""
    name = _text(bound.html_name)
    out = [f"<div >{GAP}"]
    for g, (group, options, _index) in enumerate(groups):
        if group:
            out.append(f"<strong>{_text(group)}</strong>")
        out.append(GAP)
        for o, option in enumerate(options):
            out.append(
                f'<div class="form-check{inline_class}">{GAP}'
                f'<input type="{_text(option["type"])}" class="form-check-input{invalid}"  '
                f'name="{name}" value="{_unlocalized(option["value"])}" '
                f"{_attrs(option['attrs'])}>{GAP}"
                f'<label for="{_text(option["attrs"].get("id", ""))}" class="form-check-label">\n'
                f"            {_unlocalized(option['label'])}\n"
                f"        </label>{GAP}"
            )
            last = o == len(options) - 1 and g == len(groups) - 1
            if bound.errors and last and not inline:
                out.append(_field_errors(bound, "p"))
            out.append(f"{GAP}</div>{GAP}")
        out.append(GAP)
    out.append(f"{GAP}</div>{GAP}")
    if bound.errors and inline:
        out.append(_field_errors(bound, "p"))
    out.append(_help_text(bound))
    return "".join(out)


def _wrapper_class(bound) -> str:
    css = bound.css_classes()
    return f" {css}" if css else ""


def _field(bound) -> str:
    """field.html."""
    widget = bound.field.widget
    required_class, mark = _required(bound)
    auto_id = escape(bound.auto_id)
    if isinstance(widget, forms.CheckboxInput):
        return (
            f'{GAP}<div class="mb-3">{GAP}'
            f'<div id="div_{auto_id}" class="form-check{_wrapper_class(bound)}">{GAP}'
            f"{_widget(bound, _input_class(bound))}{GAP}"
            f'<label for="{_text(bound.id_for_label)}" class="form-check-label{required_class}">\n'
            f"                    {_text(bound.label)}{mark}\n"
            f"                </label>{GAP}"
            f"{_help_text_and_errors(bound)}{GAP}</div>{GAP}</div>{GAP}"
        )
    out = [f'{GAP}<div id="div_{auto_id}" class="mb-3{_wrapper_class(bound)}">{GAP}']
    fieldset = bound.use_fieldset
    if bound.label:
        tag = "legend" if fieldset else "label"
        if fieldset:
            described = (
                f' aria-describedby="{_text(bound.aria_describedby)}"'
                if bound.aria_describedby
                else ""
            )
            out.append(f"<fieldset{described}>{GAP}")
        for_attr = f'for="{_text(bound.id_for_label)}"' if bound.id_for_label else ""
        out.append(
            f"<{tag}\n                {for_attr} "
            f'class="form-label{required_class}{" fs-6" if fieldset else ""}">\n'
            f"                {_text(bound.label)}{mark}\n"
            f"            </{tag}>{GAP}"
        )
    if isinstance(widget, forms.RadioSelect):
        out.append(_options(bound, inline=False))
    else:
        out.append(
            f"{GAP}{_widget(bound, _input_class(bound))}{GAP}{_help_text_and_errors(bound)}{GAP}"
        )
    if fieldset and bound.label:
        out.append("</fieldset>")
    out.append(f"{GAP}</div>{GAP}")
    return "".join(out)


def _appended_text(bound, appended) -> str:
    """layout/prepended_appended_text.html, with appended text only."""
    widget = bound.field.widget
    required_class, mark = _required(bound)
    danger = " has-danger" if bound.errors else ""
    out = [
        f'{GAP}<div id="div_{escape(bound.auto_id)}" class="mb-3{danger}{_wrapper_class(bound)}">'
    ]
    if bound.label:
        out.append(
            f'{GAP}<label for="{_text(bound.id_for_label)}" class="form-label{required_class}">\n'
            f"                {_text(bound.label)}{mark}\n"
            f"            </label>{GAP}"
        )
    # (This template knows selects and text controls only: a check box is a form-control here.)
    css = "form-select" if isinstance(widget, forms.Select) else "form-control"
    css += " is-invalid" if bound.errors else ""
    append = f'<span class="input-group-text">{_text(appended)}</span>{GAP}' if appended else ""
    out.append(
        f'{GAP}<div >{GAP}<div class="input-group">{GAP}{_widget(bound, css)}{GAP}{append}'
        f"{_field_errors(bound, 'span')}{GAP}</div>{GAP}{_help_text(bound)}{GAP}</div>{GAP}"
        f"</div>{GAP}"
    )
    return "".join(out)


def _radioselect_inline(bound) -> str:
    """layout/radioselect_inline.html."""
    required_class, mark = _required(bound)
    out = [f'{GAP}<div id="div_{escape(bound.auto_id)}" class="mb-3{_wrapper_class(bound)}">']
    if bound.label:
        described = (
            f' aria-describedby="{_text(bound.aria_describedby)}"' if bound.aria_describedby else ""
        )
        out.append(
            f"{GAP}<fieldset{described}>{GAP}"
            f'<legend for="{_text(bound.id_for_label)}"  '
            f'class=" fs-6 form-label{required_class}">\n'
            f"                {_text(bound.label)}{mark}\n"
            f"            </legend>{GAP}"
        )
    out.append(f"{GAP}{_options(bound, inline=True)}")
    if bound.label:
        out.append("</fieldset>")
    out.append(f"{GAP}</div>{GAP}")
    return "".join(out)


# `{{ field|as_crispy_field }}` is not within `specialspaceless`: its whitespace is crispy's
# field.html's, character for character (the text between the template's tags).
_RAW_CONTROL = (
    '\n\n\n    \n    <div id="div_{id}" class="mb-3{css}">\n        \n            \n'
    '            <label\n                for="{for_}" class="form-label{required}">\n'
    "                {label}{mark}\n            </label>\n        \n\n        \n\n        \n"
    "            \n                \n                    \n                        {widget}\n"
    "                    \n                    \n                        {help_and_errors}"
    "                    \n                \n            \n        \n        \n    </div>\n"
    "    \n\n"
)
_RAW_CHECKBOX = (
    '\n\n\n    \n        <div class="mb-3">\n        \n    \n'
    '    <div id="div_{id}" class="form-check{css}">\n        \n\n        \n\n        \n'
    "            \n                    \n                        {widget}\n                    \n"
    '                <label for="{for_}" class="form-check-label{required}">\n'
    "                    {label}{mark}\n                </label>\n                {help_and_errors}"
    "            \n        \n        \n    </div>\n    \n        \n        </div>\n    \n\n"
)


def _raw_help_and_errors(bound) -> str:
    """help_text_and_errors.html as rendered (errors inline, help text as a block)."""
    errors = "\n"
    if bound.errors:
        auto_id = escape(bound.auto_id)
        errors = (
            f'\n    <div id="{_text(bound.errors.field_id)}_error" class="invalid-feedback">\n    '
            + "".join(
                f'\n        <span id="error_{n}_{auto_id}"><strong>{_text(error)}</strong>'
                "</span>\n    "
                for n, error in enumerate(bound.errors, start=1)
            )
            + "\n    </div>\n\n"
        )
    help_text = "\n"
    if bound.help_text:
        id_attr = f'id="{escape(bound.auto_id)}_helptext" ' if bound.auto_id else ""
        help_text = (
            f'\n    \n        <div {id_attr}class="form-text">{bound.help_text}</div>\n    \n\n'
        )
    return f"\n\n\n    {errors}\n\n\n\n    {help_text}\n\n\n"


def render_crispy_field(bound) -> SafeString:
    """`{{ field|as_crispy_field }}` (crispy's field.html) for a labelled text box, text area or
    check box of a form whose helper is as `helper_is_transcribed` says; NotTranscribed for
    any other field."""
    helper = getattr(bound.form, "helper", None)
    widget = bound.field.widget
    if (
        helper is None
        or not helper_is_transcribed(helper)
        or not bound.label
        or not _field_is_transcribed(bound)
        or isinstance(widget, forms.Select | forms.RadioSelect)
        or bound.use_fieldset
        or not isinstance(widget, forms.TextInput | forms.Textarea | forms.CheckboxInput)
    ):
        raise NotTranscribed(bound.name)
    required, mark = _required(bound)
    checkbox = isinstance(widget, forms.CheckboxInput)
    html = (_RAW_CHECKBOX if checkbox else _RAW_CONTROL).format(
        id=escape(bound.auto_id),
        css=_wrapper_class(bound),
        for_=_text(bound.id_for_label),
        required=required,
        label=_text(bound.label),
        mark=mark,
        widget=_widget(bound, _input_class(bound)),
        help_and_errors=_raw_help_and_errors(bound),
    )
    return mark_safe(html)  # noqa: S308 — escaped parts, as crispy's template escapes them
