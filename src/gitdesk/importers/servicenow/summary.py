"""What an import did: rows imported, skipped (by reason) and adjusted, commits
and tickets, the branch before and after; as text lines and as a JSON record."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Summary:
    rows: int = 0  # rows of the incidents considered (after --limit)
    incidents: int = 0
    imported: int = 0
    already: int = 0
    commits: int = 0
    opened: int = 0
    continued: int = 0
    config_changed: bool = False
    skipped: Counter[str] = field(default_factory=Counter)
    adjusted: Counter[str] = field(default_factory=Counter)
    before: str | None = None
    after: str | None = None
    seconds: float = 0.0
    warning: str | None = None

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def lines(self) -> list[str]:
        out = [f"{self.imported} rows imported, {self.skipped_total} skipped, "
               f"{self.already} already imported (of {self.rows} rows, "
               f"{self.incidents} incidents)"]
        out.append(f"{self.commits} commits: {self.opened} tickets opened, "
                   f"{self.continued} continued"
                   + (", .gitdesk/config.yaml extended" if self.config_changed else ""))
        if self.skipped:
            out.append("skipped rows by reason:")
            out += [f"  {n:>7}  {reason}" for reason, n in self.skipped.most_common()]
        if self.adjusted:
            out.append("imported with an adjustment:")
            out += [f"  {n:>7}  {reason}" for reason, n in self.adjusted.most_common()]
        return out

    def record(self) -> dict[str, Any]:
        return {"rows": self.rows, "incidents": self.incidents, "imported": self.imported,
                "skipped": dict(self.skipped), "already": self.already,
                "commits": self.commits, "opened": self.opened, "continued": self.continued,
                "adjusted": dict(self.adjusted), "config_changed": self.config_changed,
                "before": self.before, "after": self.after,
                "seconds": round(self.seconds, 3)}
