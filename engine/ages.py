"""Age from a birthdate: one definition for the API, the CLI and the example cases."""

from __future__ import annotations

from datetime import date


def age_on(birthdate: date, day: date) -> int:
    """Return the age in whole years on `day` (29 Feb birthdays count from 1 March)."""
    return day.year - birthdate.year - ((day.month, day.day) < (birthdate.month, birthdate.day))
