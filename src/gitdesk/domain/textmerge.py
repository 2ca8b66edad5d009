"""Three-way merge of text by lines (a small diff3 on difflib).

Each side's changes against the base are hunks: a range of base lines and the
lines that replace it. Hunks of the two sides that overlap, or where one side
inserts lines at a place the other side changes (including both inserting at
the same place), interact; a run of interacting hunks is clean only when both
sides turned it into the same lines. Hunks that do not interact are all kept,
so two people editing different lines (adjacent ones too) both keep their
edits. The result does not depend on which side is which.
"""

from __future__ import annotations

from difflib import SequenceMatcher

# base lines [start, end) become `lines`; side is 0 or 1
Hunk = tuple[int, int, list[str], int]


def merge3(base: str, ours: str, theirs: str) -> str | None:
    """The text with both sides' changes, or None where they interact differently."""
    lines = merge_lines(base.split("\n"), ours.split("\n"), theirs.split("\n"))
    return None if lines is None else "\n".join(lines)


def merge_lines(base: list[str], ours: list[str], theirs: list[str]) -> list[str] | None:
    changes = sorted([*hunks(base, ours, 0), *hunks(base, theirs, 1)],
                     key=lambda h: (h[0], h[1], h[3]))
    out: list[str] = []
    done = 0
    for group in _groups(changes):
        start, end = min(h[0] for h in group), max(h[1] for h in group)
        versions = [_apply(base, start, end, [h for h in group if h[3] == side])
                    for side in (0, 1) if any(h[3] == side for h in group)]
        if any(v != versions[0] for v in versions):
            return None
        out += base[done:start]
        out += versions[0]
        done = end
    return out + base[done:]


def hunks(base: list[str], side: list[str], which: int) -> list[Hunk]:
    """One side's changes against the base (difflib separates them by equal lines)."""
    matcher = SequenceMatcher(None, base, side, autojunk=False)
    return [(i1, i2, side[j1:j2], which)
            for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def interact(a: Hunk, b: Hunk) -> bool:
    """Whether two hunks of different sides touch the same place of the base."""
    if a[3] == b[3]:
        return False
    if a[0] < b[1] and b[0] < a[1]:
        return True
    return (a[0] == a[1] and b[0] <= a[0] <= b[1]) or (b[0] == b[1] and a[0] <= b[0] <= a[1])


def _groups(changes: list[Hunk]) -> list[list[Hunk]]:
    # Sorted by start, a hunk can only interact with the group being built: the
    # hunks of one side are separated by at least one unchanged line.
    groups: list[list[Hunk]] = []
    for hunk in changes:
        if groups and any(interact(hunk, other) for other in groups[-1]):
            groups[-1].append(hunk)
        else:
            groups.append([hunk])
    return groups


def _apply(base: list[str], start: int, end: int, side: list[Hunk]) -> list[str]:
    """Base lines [start, end) with one side's hunks (sorted, inside the range) applied."""
    out: list[str] = []
    at = start
    for h_start, h_end, lines, _side in side:
        out += base[at:h_start]
        out += lines
        at = h_end
    return out + base[at:end]
