"""Every RIGHTSGATE_* variable the code reads is in the README's settings table."""

from __future__ import annotations

import re

from .conftest import REPO_ROOT

SOURCES = ("api", "engine", "bench", "tests", "scripts", "wsgi.py", "gunicorn.conf.py", "Dockerfile")


def test_every_setting_is_documented_in_the_readme():
    found: set[str] = set()
    for name in SOURCES:
        path = REPO_ROOT / name
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()
                                              and p.suffix in (".py", "") and "__pycache__" not in p.parts]
        for file in files:
            found |= set(re.findall(r"RIGHTSGATE_[A-Z_]+[A-Z]", file.read_text(errors="replace")))
    readme = (REPO_ROOT / "README.md").read_text()
    settings = readme[readme.index("## Settings"):readme.index("## Operations")]
    assert len(found) > 10
    missing = sorted(name for name in found if f"`{name}" not in settings)
    assert not missing, f"not in the README's Settings section: {missing}"
