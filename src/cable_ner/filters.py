"""Silver-label filters: the old tagger's systematic errors, named, documented and counted.

The rules live in a JSON file (default `src/cable_ner/silver_filters.json`, shipped in the
package) so a user can read and change them; each removed entity is counted per rule and label.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path


@dataclass(frozen=True)
class FilterRule:
    name: str
    pattern: re.Pattern
    labels: frozenset[str]
    why: str

    def matches(self, text: str, label: str) -> bool:
        if self.labels and label not in self.labels:
            return False
        return self.pattern.fullmatch(text) is not None


def default_filters_path() -> Path:
    return Path(str(resources.files("cable_ner") / "silver_filters.json"))


def load_filters(path: str | Path | None = None) -> list[FilterRule]:
    """Load filter rules; `None` gives the defaults, `"none"` no filtering."""
    if path is not None and str(path).lower() == "none":
        return []
    path = Path(path) if path is not None else default_filters_path()
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
        rules = []
        for i, rule in enumerate(spec["rules"]):
            try:
                pattern = re.compile(rule["pattern"])
            except re.error as err:
                raise ValueError(f"rule {i} ({rule.get('name')}): bad pattern: {err}") from err
            rules.append(
                FilterRule(rule["name"], pattern, frozenset(rule.get("labels", [])), rule["why"])
            )
        return rules
    except (OSError, KeyError, TypeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: not a valid filter file: {err!r}") from err


def match_filter(rules: list[FilterRule], text: str, label: str) -> str | None:
    """The name of the first rule that removes this entity, or None to keep it."""
    text = " ".join(text.split())
    for rule in rules:
        if rule.matches(text, label):
            return rule.name
    return None
