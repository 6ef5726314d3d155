"""Duration units that CLDR (as shipped with Babel 2.18) lacks in the long form.

Babel prints "2 duration-month" where CLDR has no pattern, so these few are written
out here, per CLDR plural category; `localise.duration` uses them only where CLDR has
nothing. Remove an entry once Babel's CLDR data has it.
"""

from __future__ import annotations

UNIT_PATTERNS: dict[str, dict[str, dict[str, str]]] = {
    # Estonian: kuu (1), kuud (partitive after other numbers)
    "et": {"duration-month": {"one": "{0} kuu", "other": "{0} kuud"}},
    # Maltese: singular after 1 and 11+, plural after 2-10, "-il" linking form for 11-19
    "mt": {
        "duration-month": {"one": "{0} xahar", "two": "{0} xhur", "few": "{0} xhur",
                           "many": "{0}-il xahar", "other": "{0} xahar"},
        "duration-day": {"one": "{0} jum", "two": "{0} jiem", "few": "{0} jiem",
                         "many": "{0}-il jum", "other": "{0} jum"},
    },
    "it": {"duration-month": {"one": "{0} mese", "other": "{0} mesi"},
           "duration-day": {"one": "{0} giorno", "other": "{0} giorni"}},
    "tr": {"duration-year": {"other": "{0} yıl"}, "duration-month": {"other": "{0} ay"},
           "duration-day": {"other": "{0} gün"}},
    "pt": {"duration-year": {"one": "{0} ano", "other": "{0} anos"},
           "duration-month": {"one": "{0} mês", "other": "{0} meses"},
           "duration-day": {"one": "{0} dia", "other": "{0} dias"}},
    "nl": {"duration-day": {"one": "{0} dag", "other": "{0} dagen"}},
    # Japanese, Korean, Chinese: no plural forms; counters follow the number. (Keyed by
    # language: a Traditional Chinese catalogue would need its own "個月".)
    "ja": {"duration-year": {"other": "{0}年"}, "duration-month": {"other": "{0}か月"},
           "duration-week": {"other": "{0}週間"}, "duration-day": {"other": "{0}日"}},
    "ko": {"duration-year": {"other": "{0}년"}, "duration-month": {"other": "{0}개월"},
           "duration-week": {"other": "{0}주"}, "duration-day": {"other": "{0}일"}},
    "zh": {"duration-year": {"other": "{0}年"}, "duration-month": {"other": "{0}个月"},
           "duration-week": {"other": "{0}周"}, "duration-day": {"other": "{0}天"}},
    # Thai and Vietnamese: no plural forms; Malay days (CLDR has its months and years).
    "th": {"duration-year": {"other": "{0} ปี"}, "duration-month": {"other": "{0} เดือน"},
           "duration-week": {"other": "{0} สัปดาห์"}, "duration-day": {"other": "{0} วัน"}},
    "vi": {"duration-year": {"other": "{0} năm"}, "duration-month": {"other": "{0} tháng"},
           "duration-week": {"other": "{0} tuần"}, "duration-day": {"other": "{0} ngày"}},
    "ms": {"duration-day": {"other": "{0} hari"}},
    # Irish: the noun stays singular after numerals
    "ga": {"duration-day": {"one": "{0} lá", "two": "{0} lá", "few": "{0} lá", "many": "{0} lá",
                            "other": "{0} lá"}},
}
