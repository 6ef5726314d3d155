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
        "duration-year": {"one": "{0} sena", "two": "{0} snin", "few": "{0} snin",
                          "many": "{0}-il sena", "other": "{0} sena"},
        "duration-week": {"one": "{0} ġimgħa", "two": "{0} ġimgħat", "few": "{0} ġimgħat",
                          "many": "{0}-il ġimgħa", "other": "{0} ġimgħa"},
    },
    "it": {"duration-year": {"one": "{0} anno", "other": "{0} anni"},
           "duration-month": {"one": "{0} mese", "other": "{0} mesi"},
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
    # Arabic: one and two are words of their own (the dual in the oblique case, as after
    # "within"); 3-10 take the plural, 11-99 the accusative singular.
    "ar": {
        "duration-year": {"zero": "{0} سنة", "one": "سنة واحدة", "two": "سنتين", "few": "{0} سنوات",
                          "many": "{0} سنة", "other": "{0} سنة"},
        "duration-month": {"zero": "{0} شهر", "one": "شهر واحد", "two": "شهرين", "few": "{0} أشهر",
                           "many": "{0} شهرًا", "other": "{0} شهر"},
        "duration-week": {"zero": "{0} أسبوع", "one": "أسبوع واحد", "two": "أسبوعين",
                          "few": "{0} أسابيع", "many": "{0} أسبوعًا", "other": "{0} أسبوع"},
        "duration-day": {"zero": "{0} يوم", "one": "يوم واحد", "two": "يومين", "few": "{0} أيام",
                         "many": "{0} يومًا", "other": "{0} يوم"},
    },
    # Hebrew: the dual for two years and two weeks.
    "he": {"duration-year": {"one": "שנה אחת", "two": "שנתיים", "other": "{0} שנים"},
           "duration-week": {"one": "שבוע אחד", "two": "שבועיים", "other": "{0} שבועות"}},
    "hi": {"duration-year": {"one": "{0} वर्ष", "other": "{0} वर्ष"},
           "duration-week": {"one": "{0} सप्ताह", "other": "{0} सप्ताह"}},
    # Irish: the noun stays singular after numerals
    "ga": {"duration-day": {"one": "{0} lá", "two": "{0} lá", "few": "{0} lá", "many": "{0} lá",
                            "other": "{0} lá"},
           "duration-week": {"one": "{0} seachtain", "two": "{0} sheachtain", "few": "{0} seachtaine",
                             "many": "{0} seachtaine", "other": "{0} seachtain"}},
}
