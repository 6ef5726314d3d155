"""The words of the drop-in component (`<rightsgate-panel>`): its buttons, headings and states.

They are not in the rule files (no rule decides them) but a person reads them next to the
decision's texts, so they go through the same gettext workflow: `pybabel extract` finds
the `pgettext` calls below (babel.cfg), every shipped language translates them in its
`messages.po`, `rightsgate validate --strict-translations` refuses a gap, and
`GET /v1/ui-strings` serves them as JSON in the negotiated language.

`UI_STRINGS` maps the key a frontend looks up to its (context, English text); the context
is `ui.<key>`. Keys are API: a new one may be added, none renamed. `{period}` is a
response deadline already in words; `{authority}` a supervisory authority's official name.
"""

from __future__ import annotations

from .phrases import pgettext

UI_STRINGS: dict[str, tuple[str, str]] = {
    "panel_title": pgettext("ui.panel_title", "Your privacy choices"),
    "loading": pgettext("ui.loading", "Loading your privacy choices…"),
    "error": pgettext("ui.error", "Your privacy choices could not be loaded."),
    "retry": pgettext("ui.retry", "Try again"),
    "section_age": pgettext("ui.section_age", "Age and consent"),
    "section_choices": pgettext("ui.section_choices", "Your choices"),
    "section_rights": pgettext("ui.section_rights", "Your rights"),
    "section_notices": pgettext("ui.section_notices", "Notices"),
    "accept_all": pgettext("ui.accept_all", "Accept all"),
    "reject_all": pgettext("ui.reject_all", "Reject all"),
    "save": pgettext("ui.save", "Save choices"),
    "saved": pgettext("ui.saved", "Your choices have been saved."),
    "close": pgettext("ui.close", "Close"),
    "on": pgettext("ui.on", "On"),
    "off": pgettext("ui.off", "Off"),
    "gpc_honoured": pgettext("ui.gpc_honoured", "GPC honoured"),
    "gpc_detected": pgettext("ui.gpc_detected",
                             "Your browser sends a Global Privacy Control (GPC) signal, and we honour it."),
    "gpc_turned_off": pgettext("ui.gpc_turned_off",
                               "Turned off because your browser sends a Global Privacy Control signal."),
    "prohibited_age": pgettext("ui.prohibited_age", "Not allowed for your age"),
    "prohibited_school": pgettext("ui.prohibited_school", "Not allowed for school accounts"),
    "prohibited_law": pgettext("ui.prohibited_law", "Not allowed by law"),
    "required_by_law": pgettext("ui.required_by_law", "Required by law"),
    "our_policy": pgettext("ui.our_policy", "Our policy"),
    "consent_parent": pgettext("ui.consent_parent", "A parent or guardian must give this consent."),
    "consent_joint": pgettext("ui.consent_joint", "You and a parent or guardian must both agree."),
    "consent_school": pgettext("ui.consent_school", "Your school gives this consent."),
    "opt_in_hint": pgettext("ui.opt_in_hint", "Off unless you agree."),
    "opt_out_hint": pgettext("ui.opt_out_hint", "On unless you say no."),
    "answer_within": pgettext("ui.answer_within", "We answer within {period}."),
    "complain_to": pgettext("ui.complain_to", "Complain to {authority}"),
    "legal_basis": pgettext("ui.legal_basis", "Legal basis"),
    "details": pgettext("ui.details", "Details"),
    "english_fallback": pgettext("ui.english_fallback", "Shown in English: not translated yet."),
    "nothing_to_choose": pgettext("ui.nothing_to_choose", "There is nothing for you to choose here."),
}

__all__ = ["UI_STRINGS"]
