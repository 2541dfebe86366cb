"""A file's name against the mappings' `match.filename` globs.

Our errors file (`del_stock.errors.csv`) is matched by the names its export may have had
(`export_names`). The name also guards the order actions, which no header tells apart
(confirm, dispatch and return QC have the same columns): a name that matches the globs of
two order actions is not guessed at (`two_actions`), and `--feed`/`--mapping` do not make a
file named for another feed (`cancel_28-11.csv` under `--feed confirm`) that feed
(`named_for_another_feed`).
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

from etl.droppedback import ERRORS_NAME, export_stems
from etl.feeds import ABSOLUTE_FEEDS, get_feed
from etl.mapspec import Mapping

# The columns that confirm, dispatch, return QC, cancel and pack files share: having them
# says which order action a file is no more than its name does.
ITEM_COLUMNS = frozenset({"orderId", "orderItemId", "quantity", "reasonCode"})
WORD_GLOB = re.compile(r"\*([a-z]+)\*")  # the built-in order mappings' `*pack*`
_TAKEN = re.compile(r"-\d+$")  # the inbox's `stock-2.csv` for a name done/ has that day
_GLOB_SUFFIX = re.compile(r"\.[^.*?\[\]]+$")  # the extension a glob names: `*_stock.csv`


def name_fits(mapping: Mapping, name: str) -> bool:
    """True when the mapping has no file name globs or one of them matches `name`."""
    folded = name.casefold()
    return not mapping.filename or any(fnmatchcase(folded, g.casefold()) for g in mapping.filename)


def export_names(name: str, glob: str) -> dict[str, int]:
    """For our errors file `name`, the names its export may have had, to try `glob` on, and
    how much a match counts: 2 with the errors file's extension, 1 with the one the glob
    names (Excel's Save As turns `del_stock.errors.csv` into .xlsx; a .txt export gets a
    .csv errors file). The inbox's `-2` (`del_stock-2.errors.csv`) is tried without too."""
    found = ERRORS_NAME.fullmatch(name)
    if found is None:
        return {}
    named = _GLOB_SUFFIX.search(glob)
    names: dict[str, int] = {}
    stems = export_stems(found)
    for stem in dict.fromkeys([*stems, *(_TAKEN.sub("", stem) for stem in stems)]):
        names.setdefault(stem + found["suffix"], 2)
        if named is not None:
            names.setdefault(stem + named.group(0), 1)
    return names


def may_fit(mapping: Mapping, name: str) -> bool:
    """`name_fits`, or would if the file is our errors file (its layout is not read yet)."""
    return not mapping.filename or bool(name_hits(mapping, name, errors_file=True))


def name_hits(mapping: Mapping, name: str, errors_file: bool) -> list[tuple[int, str, str]]:
    """(level, glob, the name it matched) for each glob that matches, best first: level 2
    for `name` itself; for our errors file, its export's names (`export_names`)."""
    hits = []
    for glob in mapping.filename:
        names = {name: 2, **(export_names(name, glob) if errors_file else {})}
        folded = glob.casefold()
        matched = [
            (level, glob, n) for n, level in names.items() if fnmatchcase(n.casefold(), folded)
        ]
        hits += sorted(matched, reverse=True)[:1]
    return sorted(hits, key=lambda hit: -hit[0])


def _named(mappings: list[Mapping], name: str, words: bool = False) -> list[Mapping]:
    """The order-action mappings whose globs match `name` (for our errors file: the export's
    name); `words`: a built-in `*pack*` only as a word (`pack_list.csv`, not `backpacks.csv`
    or `packed.csv`). Stock and price globs (`tally*`, `pos_*.csv`) say which ERP wrote a
    file, not which action it is."""
    return [
        m
        for m in mappings
        if m.feed not in ABSOLUTE_FEEDS and m.filename and _names(m, name.casefold(), words)
    ]


def _names(mapping: Mapping, folded: str, words: bool) -> bool:
    if not may_fit(mapping, folded):
        return False
    found = [WORD_GLOB.fullmatch(g.casefold()) for g in mapping.filename]
    if not words or not mapping.is_generic or not all(found):
        return True
    return any(re.search(rf"(?<![a-z]){w.group(1)}(?![a-z])", folded) for w in found if w)


def _globs(mapping: Mapping, name: str) -> str:
    return ", ".join(f"'{g}'" for _, g, _ in name_hits(mapping, name, errors_file=True))


def two_actions(fitting: list[Mapping], name: str) -> str | None:
    """Why `name` is not read as either of two order actions whose globs it matches and
    whose columns it has (`pack_list_for_dispatch.csv`); None when it names one at most, or
    when one of them needs a column the others' do not tell apart (`ITEM_COLUMNS`): an
    invoice number says invoice, whatever `*pack*` matched in `invoice_packages.csv`. A
    mapping of your own matching the name outranks the built-in ones (a `*pack_list*` of
    yours for dispatch, with generic/pack's `*pack*`)."""
    named = _named(fitting, name, words=True)
    named = [m for m in named if not m.is_generic] or named  # your own mapping says it
    actions = {m.feed: m for m in named}
    proven = {f: m for f, m in actions.items() if set(get_feed(f).required) - ITEM_COLUMNS}
    if len(proven) == 1:
        return None  # `invoice_packages.csv` with invoice numbers: an invoice file
    actions = proven or actions
    if len(actions) < 2:
        return None
    first, second = list(actions.values())[:2]
    return (
        f"{name} is named like two order actions, {first.feed} ({_globs(first, name)}) and"
        f" {second.feed} ({_globs(second, name)}), and has the columns of both: an order"
        " action cannot be undone, so it is not guessed; rename the file to name one, or pass"
        f" --feed ({first.feed} or {second.feed})"
    )


def named_for_another_feed(chosen: list[Mapping], loaded: list[Mapping], name: str) -> str | None:
    """With --feed or --mapping for an order action (`chosen`: the mappings they leave): why
    a file whose name names another order action, and not the chosen one (by any mapping of
    its feed), is not read with them. A stock or price run reads what it is given."""
    feeds = {m.feed for m in chosen}
    if feeds & ABSOLUTE_FEEDS or _named([m for m in loaded if m.feed in feeds], name):
        return None
    other = next((m for m in _named(loaded, name) if m.feed not in feeds), None)
    if other is None:
        return None
    return (
        f"its name matches {_globs(other, name)} of {other.name}: it is a {other.feed} file,"
        f" and this run reads files as {' or '.join(sorted(feeds))}"
    )
