"""Response schemas: every response body is dumped through one of these.

They describe exactly what engine.render and the reference views produce (a test
dumps every precomputed decision and checks nothing is lost), and they are what the
OpenAPI document shows. Members marked "optional" are left out when they do not
apply; all others are always present (possibly null).
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from engine.model import (
    AGE_GATE_STATUSES,
    CONSENT_BY,
    CONTEXTS,
    KNOWLEDGE,
    LEGAL_STATUSES,
    MATCH_KINDS,
    MECHANISMS,
)
from engine.ui_strings import UI_STRINGS

from .geo import MATCHED as EDGE_MATCHED
from .problems import PROBLEM_TYPES

BASES = ("law", "policy")


def _doc(description: str, **extra: object) -> dict:
    return {"description": description, **extra}


def _optional(description: str) -> dict:
    return _doc(f"{description} (optional: left out when it does not apply)")


ITEM_VERSION = _doc(
    "Receipt: a short content hash (16 hex digits) of this item as served: its rule's effect (rule "
    "id, every field, citation, legal status, basis) and its words in the served language (title, "
    "text or description, deadline words, authority). The same rule and words give the same version "
    "in every rule set version; a text edit, a translation change or another language's words change "
    "it. Store it with a consent record to prove what was shown.", example="3f1c9a0b5d2e4c67")


class JurisdictionSchema(Schema):
    code = fields.String(required=True, metadata=_doc("The modelled jurisdiction that decided", example="DE"))
    requested = fields.String(required=True, allow_none=True,
                              metadata=_doc("What was asked for, as sent (trimmed); null if nothing"))
    name = fields.String(required=True, metadata=_doc("Name in the served locale (CLDR for countries)"))
    frameworks = fields.List(fields.String(), required=True,
                             metadata=_doc("Framework ids (the `framework:` of each rule file, e.g. "
                                           "gdpr, dsa, uk_gdpr, fadp, ccpa, coppa, pipeda, quebec_law25, "
                                           "alberta_pipa, bc_pipa, default; see GET /v1/jurisdictions)"))
    frameworks_text = fields.String(required=True, metadata=_doc("The frameworks' titles as one list"))
    path = fields.List(fields.String(), required=True,
                       metadata=_doc("From the region down", example=["EEA", "DE"]))
    matched = fields.String(required=True, validate=validate.OneOf((*MATCH_KINDS, EDGE_MATCHED)),
                            metadata=_doc("How the request was matched: subdivision, country, alias, "
                                          "region, territory, default; edge_header when no jurisdiction "
                                          "was sent and the trusted edge's geolocation headers located "
                                          "the request (`requested` is then null)"))


class RulesetRefSchema(Schema):
    version = fields.String(required=True, metadata=_doc("Content hash of the active rule set"))
    as_of = fields.String(required=True,
                          metadata=_doc("The date the rules were evaluated for", format="date"))


class AgeGateSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(AGE_GATE_STATUSES))
    digital_consent_age = fields.Integer(required=True, allow_none=True,
                                         metadata=_doc("Statutory age; null where the law sets none"))
    parental_consent_required = fields.Boolean(required=True, allow_none=True)
    minimum_age = fields.Integer(required=True, metadata=_doc("The customer's minimum signup age"))
    basis = fields.String(required=True, validate=validate.OneOf(BASES))
    consent_by = fields.String(validate=validate.OneOf(CONSENT_BY[1:]), metadata=_optional(
        "Who consents: parent, parent_and_child (jointly, e.g. France) or school (COPPA school "
        "authorisation, educational purpose only)"))
    knowledge = fields.String(validate=validate.OneOf(KNOWLEDGE), metadata=_optional(
        "What the business must know of the age for this to apply"))
    policy_consent_age = fields.Integer(metadata=_optional("Consent age from policy where law is silent"))
    rule = fields.String(required=True, allow_none=True, metadata=_doc("The deciding rule id"))
    citation = fields.String(required=True)
    legal_status = fields.String(required=True, validate=validate.OneOf(LEGAL_STATUSES))
    title = fields.String(required=True)
    text = fields.String(required=True)
    version = fields.String(required=True, metadata=ITEM_VERSION)
    fallback_locale = fields.String(metadata=_optional("Set when this item's words are in English"))


class ResponseTimeSchema(Schema):
    deadline = fields.String(metadata=_doc("ISO 8601 duration", example="P1M"))
    extension = fields.String(allow_none=True, metadata=_doc("ISO 8601 duration", example="P2M"))
    acknowledge = fields.String(metadata=_optional("ISO 8601 duration to acknowledge a request"))
    business_days = fields.Boolean(metadata=_optional("The deadline counts business days"))
    acknowledge_business_days = fields.Boolean(metadata=_optional("`acknowledge` counts business days"))
    stop_the_clock = fields.Boolean(metadata=_optional("The deadline pauses while awaiting information"))
    text = fields.String(required=True, metadata=_doc("The deadline in words"))
    fallback_locale = fields.String(metadata=_optional("Set when the deadline's words are in English"))


class AuthoritySchema(Schema):
    name = fields.String(required=True)
    url = fields.String(required=True, allow_none=True,
                        metadata=_doc("null where no official address is known"))
    legal_status = fields.String(required=True, allow_none=True)
    co_enforcer = fields.Dict(keys=fields.String(), values=fields.String(),
                              metadata=_optional("Another authority that also enforces (name, url)"))


class _ItemSchema(Schema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    citation = fields.String(required=True)
    rule = fields.String(required=True)
    legal_status = fields.String(required=True, validate=validate.OneOf(LEGAL_STATUSES))
    basis = fields.String(required=True, validate=validate.OneOf(BASES))
    version = fields.String(required=True, metadata=ITEM_VERSION)
    fallback_locale = fields.String(metadata=_optional("Set when this item's words are in English"))


class RightSchema(_ItemSchema):
    description = fields.String(required=True)
    absolute = fields.Boolean(metadata=_optional("The right cannot be refused"))
    response = fields.Nested(ResponseTimeSchema, metadata=_optional("How fast a request must be answered"))
    authority = fields.Nested(AuthoritySchema, allow_none=True,
                              metadata=_optional("For `complain`: where to complain (null: none named)"))


class OptOutSchema(_ItemSchema):
    text = fields.String(required=True)
    mechanism = fields.String(required=True, validate=validate.OneOf(MECHANISMS), metadata=_doc(
        "opt_in: off until someone says yes; opt_out: on until the person says no; prohibited: "
        "not allowed at all for this person, always off, no consent can lift it"))
    default = fields.String(required=True, validate=validate.OneOf(("on", "off")))
    gpc_applied = fields.Boolean(required=True, metadata=_doc(
        "The GPC signal turned it off for this person (false where it was off anyway)"))
    consent_by = fields.String(validate=validate.OneOf(CONSENT_BY), metadata=_optional(
        "For opt_in: who says yes: person, parent, parent_and_child (jointly) or school; below "
        "the age of consent the age gate's consenting party"))
    consent_basis = fields.String(validate=validate.OneOf(("policy",)), metadata=_optional(
        "`policy` when consent_by comes from the customer's policy age (no statutory age here)"))
    consent_rule = fields.String(metadata=_optional("The age-gate rule that decided consent_by"))
    knowledge = fields.String(validate=validate.OneOf(KNOWLEDGE), metadata=_optional(
        "The knowledge standard that triggers this item: actual, wilful_disregard (actual "
        "knowledge or wilful disregard), knew_or_should_have_known, reasonable_certainty"))
    exemptions = fields.List(fields.String(), metadata=_optional("Cases the opt-out does not cover"))


class NoticeSchema(_ItemSchema):
    text = fields.String(required=True)


class ValiditySchema(Schema):
    # `from` is a Python keyword, hence the attribute name.
    valid_from = fields.String(required=True, allow_none=True, data_key="from", attribute="from",
                               metadata=_doc("First day this answer holds (null: since always)",
                                             format="date"))
    until = fields.String(required=True, allow_none=True,
                          metadata=_doc("Last day (null: open-ended)", format="date"))


class DecisionSchema(Schema):
    """What applies to this person, here and now, in one language."""

    jurisdiction = fields.Nested(JurisdictionSchema, required=True)
    locale = fields.String(required=True, metadata=_doc("The served locale (also Content-Language)"))
    direction = fields.String(required=True, validate=validate.OneOf(("ltr", "rtl")), metadata=_doc(
        "Writing direction of the served language (rtl for Hebrew and Arabic)"))
    ruleset = fields.Nested(RulesetRefSchema, required=True)
    gpc = fields.Boolean(required=True)
    context = fields.String(required=True, validate=validate.OneOf(CONTEXTS), metadata=_doc(
        "consumer, or school: the account is provided through a school"))
    age_gate = fields.Nested(AgeGateSchema, required=True)
    rights = fields.List(fields.Nested(RightSchema), required=True)
    opt_outs = fields.List(fields.Nested(OptOutSchema), required=True)
    notices = fields.List(fields.Nested(NoticeSchema), required=True)
    valid = fields.Nested(ValiditySchema, required=True,
                          metadata=_doc("The dates between which this answer does not change"))
    fallbacks = fields.List(fields.String(), required=True,
                            metadata=_doc("Items shown in English because the served locale lacks them"))
    untranslated_fields = fields.List(fields.String(), required=True, metadata=_doc(
        "Fields never translated, by design: `citation` (the law's own words), `authority.name` "
        "and `authority.co_enforcer` (official names), `exemptions` (ids for the frontend to label)"))


# -- changes between two rule set versions ------------------------------------------


class PlaceAddedSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True, metadata=_doc("English name"))
    frameworks = fields.List(fields.String(), required=True)


class PlaceRemovedSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True, metadata=_doc("English name"))


class ChangeSchema(Schema):
    jurisdiction = fields.String(required=True, metadata=_doc("The place's code", example="PT"))
    name = fields.String(required=True, metadata=_doc("The place's English name", example="Portugal"))
    ages = fields.String(required=True, metadata=_doc(
        "Whom it concerns: `ages 13-15`, `age 16`, `age not given`, `everyone`, or several joined by "
        "`and`", example="ages 13-15"))
    gpc = fields.Boolean(required=True, allow_none=True, metadata=_doc(
        "With (true) or without (false) Global Privacy Control; null: either way"))
    context = fields.String(required=True, validate=validate.OneOf((*CONTEXTS, "any")), metadata=_doc(
        "consumer or school accounts; any: both alike"))
    as_of = fields.String(required=True, allow_none=True, metadata=_doc(
        "From this day on (a law's or phase's start); null: on every day", format="date"))
    what = fields.String(required=True, metadata=_doc(
        "The field that changed: `age_gate.<field>`, `<rights|opt_outs|notices>.<id>` (the item "
        "appears or disappears: `present`/`absent`) or `<rights|opt_outs|notices>.<id>.<field>`",
        example="age_gate.status"))
    before = fields.Raw(required=True, allow_none=True, metadata=_doc("The value in `from`"))
    after = fields.Raw(required=True, allow_none=True, metadata=_doc("The value in `to`"))
    sentence = fields.String(required=True, metadata=_doc(
        "The change in plain English, with the place and ages",
        example="Portugal, ages 13-15 from 2019-08-09: people now need a parent's consent "
                "(before: can sign up and consent themselves)"))


class ChangesSchema(Schema):
    """What changed, for whom, between two rule set versions this service activated."""

    from_ = fields.String(required=True, data_key="from", attribute="from",
                          metadata=_doc("The older rule set version (`since`)"))
    to = fields.String(required=True, metadata=_doc("The newer rule set version (`until`, default current)"))
    changed = fields.Boolean(required=True, metadata=_doc("Anything at all differs"))
    added = fields.List(fields.Nested(PlaceAddedSchema), required=True,
                        metadata=_doc("Places only `to` models, with their laws"))
    removed = fields.List(fields.Nested(PlaceRemovedSchema), required=True,
                          metadata=_doc("Places only `from` models"))
    frameworks_added = fields.List(fields.String(), required=True)
    frameworks_removed = fields.List(fields.String(), required=True)
    texts = fields.List(fields.String(), required=True, metadata=_doc(
        "Catalogue entries whose English words changed (their translations are then stale)"))
    changes = fields.List(fields.Nested(ChangeSchema), required=True, metadata=_doc(
        "Every answer that differs in the places both model, per place and run of ages"))


# -- reference endpoints ----------------------------------------------------------


class VersionSchema(Schema):
    version = fields.String(required=True)


class JurisdictionEntrySchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True, metadata=_doc("Name in the served locale"))
    english_name = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("region", "country", "subdivision",
                                                                 "default")))
    parent = fields.String(required=True, allow_none=True)
    path = fields.List(fields.String(), required=True)
    frameworks = fields.List(fields.String(), required=True)
    aliases = fields.List(fields.String(), required=True)
    territories = fields.List(fields.String(), required=True, metadata=_doc(
        "Codes of places that are legally part of this one (RE for FR): `matched: territory`"))
    modelled = fields.Boolean(required=True, metadata=_doc("false: requests resolve to DEFAULT"))
    authority = fields.Nested(AuthoritySchema, required=True, allow_none=True)
    supported_from = fields.String(required=True, allow_none=True, metadata=_doc(
        "The earliest as_of answered here (before every law modelled for the place: 422); null: any",
        format="date"))
    verification = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True, metadata=_doc(
        "Effects that can apply here counted by legal status (verified, verified_secondary, "
        "partially_verified, unverified, disputed, policy): how much of this place's law is verified"))
    fallback_locale = fields.String(metadata=_optional("Set when the name is in English"))


class JurisdictionsSchema(Schema):
    locale = fields.String(required=True)
    ruleset = fields.Nested(VersionSchema, required=True)
    jurisdictions = fields.List(fields.Nested(JurisdictionEntrySchema), required=True)
    aliases = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                          metadata=_doc("Alias -> code, e.g. UK -> GB"))
    fallbacks = fields.List(fields.String(), required=True)


class CatalogEntrySchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(
        ("age_gate", "right", "opt_out", "notice", "wording", "framework")), metadata=_doc(
        "`wording`: a law's own words for an item (a state's 'sale of personal data'), shown "
        "instead of the item's title and text where a rule says so"))
    id = fields.String(required=True)
    title = fields.String(required=True)
    text = fields.String(required=True, metadata=_doc("May hold {placeholders}, filled in decisions"))
    placeholders = fields.List(fields.String(), required=True)
    fallback_locale = fields.String(metadata=_optional("Set when the words are in English"))


class CatalogSchema(Schema):
    locale = fields.String(required=True)
    ruleset = fields.Nested(VersionSchema, required=True)
    entries = fields.List(fields.Nested(CatalogEntrySchema), required=True)
    fallbacks = fields.List(fields.String(), required=True)


class LocaleEntrySchema(Schema):
    tag = fields.String(required=True, metadata=_doc("BCP 47 tag", example="fr-CA"))
    native_name = fields.String(required=True, metadata=_doc("The language's name in itself"))
    name = fields.String(required=True, metadata=_doc("The language's name in the served locale"))
    direction = fields.String(required=True, validate=validate.OneOf(("ltr", "rtl")))
    completeness = fields.Float(required=True, metadata=_doc(
        "Percent of the active rules' current texts translated (an edited English text counts as "
        "untranslated until its translation is updated)"))
    review_status = fields.String(required=True)
    source = fields.Boolean(required=True, metadata=_doc("The source language (English)"))


class LocalesSchema(Schema):
    locale = fields.String(required=True)
    default = fields.String(required=True, metadata=_doc("Served when nothing else fits"))
    locales = fields.List(fields.Nested(LocaleEntrySchema), required=True)


# One member per key of engine.ui_strings, each always present (in English when untranslated).
UiStringTextsSchema = Schema.from_dict(
    {key: fields.String(required=True, metadata=_doc(f"English: {english!r}"))
     for key, (_context, english) in UI_STRINGS.items()}, name="UiStringTextsSchema")


class UiStringsSchema(Schema):
    """The drop-in component's own words (buttons, headings, states) in one language."""

    locale = fields.String(required=True, metadata=_doc("The served locale (also Content-Language)"))
    direction = fields.String(required=True, validate=validate.OneOf(("ltr", "rtl")), metadata=_doc(
        "Writing direction of the served language (rtl for Hebrew and Arabic)"))
    ruleset = fields.Nested(VersionSchema, required=True)
    strings = fields.Nested(UiStringTextsSchema, required=True, metadata=_doc(
        "Key -> text; `{period}` and `{authority}` are filled in by the component"))
    fallbacks = fields.List(fields.String(), required=True,
                            metadata=_doc("Keys shown in English because the served locale lacks them"))


class ComponentManifestSchema(Schema):
    """Where the drop-in component is and how to pin it (Subresource Integrity)."""

    element = fields.String(required=True,
                            metadata=_doc("The custom element's name", example="rightsgate-panel"))
    version = fields.String(required=True, metadata=_doc("Digest of the file's bytes (also in its name)"))
    url = fields.String(required=True, metadata=_doc(
        "Path of the versioned file on this API's origin (immutable: cached for a year)",
        example="/v1/component/rightsgate-panel.0123456789abcdef.js"))
    integrity = fields.String(required=True, metadata=_doc(
        "The `integrity` attribute for the script tag (SHA-384, base64)", example="sha384-..."))
    unversioned_url = fields.String(required=True, metadata=_doc(
        "Redirects to the current versioned file (cannot be pinned with `integrity`)"))
    bytes = fields.Integer(required=True, metadata=_doc("Size of the file"))


class RuleProblemSchema(Schema):
    file = fields.String(required=True)
    line = fields.Integer(required=True, allow_none=True)
    code = fields.String(required=True)
    message = fields.String(required=True)
    suggestion = fields.String(required=True, allow_none=True)


class ReloadErrorSchema(Schema):
    at = fields.String(required=True, metadata=_doc("When it was refused (UTC, ISO 8601)"))
    kind = fields.String(required=True, validate=validate.OneOf(("rules", "locales")))
    summary = fields.String(required=True)
    problems = fields.List(fields.Nested(RuleProblemSchema), required=True)


class ReloadSchema(Schema):
    interval_seconds = fields.Float(required=True, metadata=_doc("0: reloading is off"))
    watcher_running = fields.Boolean(required=True)
    last_checked_at = fields.String(required=True, allow_none=True)
    last_reload_at = fields.String(required=True, allow_none=True)
    last_error = fields.Nested(ReloadErrorSchema, required=True, allow_none=True,
                               metadata=_doc("The last refused reload; null once a good set replaces "
                                             "it or the files are back to the active set"))


class RuleFileSchema(Schema):
    name = fields.String(required=True, metadata=_doc("Relative to the rules directory",
                                                      example="frameworks/gdpr.yaml"))
    sha256 = fields.String(required=True, metadata=_doc("SHA-256 of the file's bytes (hex)"))


class ActiveRulesetSchema(Schema):
    version = fields.String(required=True)
    loaded_at = fields.String(required=True, metadata=_doc("UTC, ISO 8601"))
    load_seconds = fields.Float(required=True)
    jurisdictions = fields.Integer(required=True)
    origin = fields.String(required=True, validate=validate.OneOf(("files", "state")),
                           metadata=_doc("files: read from the rules directory; state: the last valid "
                                         "set a worker activated, kept on disk, because the files "
                                         "could not be used when this worker started"))
    files = fields.List(fields.Nested(RuleFileSchema), required=True,
                        metadata=_doc("The rule files this set was built from"))


class HealthSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(("ok", "degraded")),
                           metadata=_doc("degraded: the files on disk were refused; the active set "
                                         "still serves"))
    pid = fields.Integer(required=True, metadata=_doc("The answering process (one per worker)"))
    ruleset = fields.Nested(ActiveRulesetSchema, required=True)
    locales = fields.Integer(required=True, metadata=_doc("Number of shipped locales"))
    reload = fields.Nested(ReloadSchema, required=True)


# -- problems -----------------------------------------------------------------------


class FieldErrorSchema(Schema):
    field = fields.String(required=True, allow_none=True,
                          metadata=_doc("The parameter or body member; null: the whole body"))
    in_ = fields.String(required=True, data_key="in", attribute="in",
                        validate=validate.OneOf(("query", "body", "header")))
    message = fields.String(required=True)


_TYPES = "; ".join(f"`{p.uri}` ({p.status}): {p.description}" for p in PROBLEM_TYPES.values())


class ProblemSchema(Schema):
    """RFC 9457 problem details (application/problem+json)."""

    type = fields.String(required=True, metadata=_doc(
        f"A URI naming the kind of problem; `about:blank` for plain HTTP errors. Types: {_TYPES}"))
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    instance = fields.String(required=True, metadata=_doc("The request path"))
    errors = fields.List(fields.Nested(FieldErrorSchema), required=True,
                         metadata=_doc("Each bad field; empty when no single field is to blame"))
