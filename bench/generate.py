"""Synthetic rule sets for the growth benchmark: the shipped rules plus fake EEA states.

`generate(scale, out)` copies rules/ and adds jurisdictions until there are about
`scale` times as many (40 -> 400 -> 4,000). The new places look like real EEA states:

- fake countries with user-assigned ISO codes (XA..XZ, QM..QZ) under the EEA, each
  with its own framework file `frameworks/synth_<cc>.yaml` (so GDPR and the
  policy rules reach them too) and a digital age of consent of its own;
- subdivisions of those countries (XA-1, XA-2, ...), each with its own age of consent
  (13-16, overriding its country's by being more specific); every fourth one has
  that age change on a date (a rule `effective_until` the day before, another
  `effective_from` that day: a new date boundary), and every third one protects
  minors below an age of its own (14-21: a new age threshold) with a geolocation
  opt-in.

The result must (and does) pass the same validation as the shipped rules. Rules and
age-threshold mentions grow with the places (about 1.6 rules per new place); the
distinct threshold values stay bounded by the 0-130 age domain.
"""

from __future__ import annotations

import math
import shutil
import string
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
COUNTRY_CODES = [f"X{c}" for c in string.ascii_uppercase] + [f"Q{c}" for c in "MNOPQRSTUVWXYZ"]
SHIPPED_PLACES = 40


def _subdivision_rules(fw: str, code: str, index: int) -> list[str]:
    slug = code.lower().replace("-", "_")
    age = 13 + index % 4
    out = []
    if index % 4 == 3:
        change = date(2025, 1, 1) + timedelta(days=(index * 37) % 2000)
        new_age = 13 + (index + 1) % 4
        out.append(f"""
  - id: {fw}.{slug}.art8_until
    summary: Digital age of consent in {code} until a change of the law
    when: {{jurisdiction: {code}}}
    effective_until: {change - timedelta(days=1)}
    then: {{age_gate: {{digital_consent_age: {age}}}}}
    citation: "Synthetic law of {code}, s. 8"
    status: unverified
    source: bench/generate.py""")
        out.append(f"""
  - id: {fw}.{slug}.art8_from
    summary: Digital age of consent in {code} after the change of the law
    when: {{jurisdiction: {code}}}
    effective_from: {change}
    then: {{age_gate: {{digital_consent_age: {new_age}}}}}
    citation: "Synthetic law of {code}, s. 8 as amended"
    status: unverified
    source: bench/generate.py""")
    else:
        out.append(f"""
  - id: {fw}.{slug}.art8
    summary: Digital age of consent in {code}
    when: {{jurisdiction: {code}}}
    then: {{age_gate: {{digital_consent_age: {age}}}}}
    citation: "Synthetic law of {code}, s. 8"
    status: unverified
    source: bench/generate.py""")
    if index % 3 == 0:
        below = 14 + index % 8
        out.append(f"""
  - id: {fw}.{slug}.minors
    summary: No geolocation for minors below {below} in {code} unless they opt in
    when: {{jurisdiction: {code}, age: {{below: {below}}}}}
    then:
      opt_outs:
        - {{id: geolocation, mechanism: opt_in, default: "off", citation: "Synthetic law of {code}, s. 12"}}
    citation: "Synthetic law of {code}, s. 12"
    status: unverified
    source: bench/generate.py""")
    return out


def plan(scale: float) -> dict[str, list[str]]:
    """Fake country code -> its subdivision codes, for about `scale` x 40 places."""
    extra = max(0, round(SHIPPED_PLACES * scale) - SHIPPED_PLACES)
    if extra == 0:
        return {}
    countries = COUNTRY_CODES[:min(len(COUNTRY_CODES), math.ceil(extra / 10))]
    subdivisions: dict[str, list[str]] = {c: [] for c in countries}
    for i in range(extra - len(countries)):
        country = countries[i % len(countries)]
        subdivisions[country].append(f"{country}-{len(subdivisions[country]) + 1}")
    return subdivisions


def generate(scale: float, out: Path) -> Path:
    """Write the rules for `scale` into `out` (replacing it); return `out`."""
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(RULES, out)
    places = plan(scale)
    if not places:
        return out
    jurisdictions = ["", "  # -- synthetic places (bench/generate.py) --"]
    catalog = []
    for n, (country, subs) in enumerate(places.items()):
        fw = f"synth_{country.lower()}"
        jurisdictions.append(
            f"  {country}: {{name: Synthetic {country}, parent: EEA, frameworks: [gdpr, {fw}], "
            f"authority: {{name: DPA {country}, url: 'https://{country.lower()}.dpa.example', "
            f"status: unverified}}}}")
        for sub in subs:
            jurisdictions.append(
                f"  {sub}: {{name: Synthetic {sub}, kind: subdivision, parent: {country}, "
                f"authority: {{name: DPA {sub}, url: 'https://{sub.lower()}.dpa.example', "
                f"status: unverified}}}}")
        catalog.append(f"  {fw}:\n    title: Synthetic data protection law of {country}")
        rules = [f"""
  - id: {fw}.art8
    summary: Digital age of consent in {country}
    when: {{jurisdiction: {country}}}
    then: {{age_gate: {{digital_consent_age: {13 + n % 4}}}}}
    citation: "Synthetic law of {country}, s. 8"
    status: unverified
    source: bench/generate.py"""]
        for index, sub in enumerate(subs):
            rules.extend(_subdivision_rules(fw, sub, index))
        (out / "frameworks" / f"{fw}.yaml").write_text(
            f"# Generated by bench/generate.py: a synthetic framework for the growth benchmark.\n"
            f"framework: {fw}\nlaw: Synthetic data protection law of {country}\n"
            f"source_url: https://{country.lower()}.dpa.example\n\nrules:\n" + "\n".join(rules) + "\n",
            encoding="utf-8")
    with (out / "jurisdictions.yaml").open("a", encoding="utf-8") as handle:
        handle.write("\n".join(jurisdictions) + "\n")
    catalog_file = out / "catalog.yaml"
    text = catalog_file.read_text(encoding="utf-8")
    if not text.rstrip().splitlines()[-1].startswith("    title:"):
        raise RuntimeError("catalog.yaml no longer ends with the frameworks section; "
                           "update bench/generate.py")
    catalog_file.write_text(text.rstrip("\n") + "\n" + "\n".join(catalog) + "\n", encoding="utf-8")
    return out


def describe(ruleset: object) -> dict[str, int]:
    """Sizes of a loaded RuleSet: places, rules, age-threshold mentions and distinct values."""
    mentions = 0
    values: set[int] = set()
    for rule in ruleset.rules:  # type: ignore[attr-defined]
        age = rule.when.age
        found = [a for a in ((age.at_least, age.below) if age else ()) if a is not None]
        found += [e.fields["digital_consent_age"] for e in rule.effects
                  if e.kind == "age_gate" and e.fields.get("digital_consent_age") is not None]
        mentions += len(found)
        values.update(found)
    return {"jurisdictions": len(ruleset.jurisdictions),  # type: ignore[attr-defined]
            "rules": len(ruleset.rules),  # type: ignore[attr-defined]
            "age_threshold_mentions": mentions, "distinct_age_thresholds": len(values)}
