"""Parse speed: cold parse against a regex, cached parse against a dict, import time.

Run: .venv/bin/python benchmarks/bench_parse.py
Each ratio compares two loops measured side by side in the same run.
"""

from __future__ import annotations

import re

import eventmask
from eventmask._catalogue import (
    DEFAULT_ALIASES,
    DEFAULT_EVENTS,
    DEFAULT_LEGACY_RESTRICTIONS,
    DEFAULT_RESTRICTIONS,
)
from eventmask._language import parser as _parser

from ._common import best_of, import_time_us, mask_corpus, write_result


def validating_regex() -> re.Pattern[str]:
    """One compiled regex that accepts exactly the strictly valid masks' shapes."""
    events = sorted([*DEFAULT_EVENTS, *DEFAULT_ALIASES], key=len, reverse=True)
    restrictions = sorted(
        [*DEFAULT_RESTRICTIONS, *DEFAULT_LEGACY_RESTRICTIONS], key=len, reverse=True
    )
    ev, rs = "|".join(events), "|".join(restrictions)
    u = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    ids = rf"(?:\*|{u}(?:,{u})*)"
    item = rf"(?:ari:(?:\*|(?:{rs})(?:,(?:{rs}))*):{ids}:{ids}|{ev})"
    return re.compile(rf"\*|{item}(?:;{item})*")


def main() -> None:
    masks = mask_corpus(10_000)
    rx = validating_regex()
    assert all(rx.fullmatch(m) for m in masks), "the regex baseline must accept the corpus"
    assert all(eventmask.parse(m) is not None for m in masks[:100])

    def cold() -> None:
        for cache in _parser._caches.values():
            cache.clear()
        for m in masks:
            eventmask.parse(m)

    def regex() -> None:
        for m in masks:
            rx.fullmatch(m)

    hot_text = masks[3]
    eventmask.parse(hot_text)
    table = {hot_text: eventmask.parse(hot_text)}
    loops = 200_000

    def cached() -> None:
        parse = eventmask.parse
        for _ in range(loops):
            parse(hot_text)

    def lookup() -> None:
        get = table.get
        for _ in range(loops):
            get(hot_text)

    t_cold, t_regex = best_of(cold), best_of(regex)
    t_cached, t_lookup = best_of(cached), best_of(lookup)
    imp = import_time_us()
    figures = {
        "cold_parse_masks_per_s": round(len(masks) / t_cold),
        "regex_masks_per_s": round(len(masks) / t_regex),
        "cold_vs_regex": round(t_cold / t_regex, 1),
        "cached_parse_ns": round(t_cached / loops * 1e9),
        "dict_lookup_ns": round(t_lookup / loops * 1e9),
        "cached_vs_dict": round(t_cached / t_lookup, 2),
        "import_eventmask_us": imp,
    }
    print(f"cold parse   {figures['cold_parse_masks_per_s']:>10,} masks/s")
    print(f"regex        {figures['regex_masks_per_s']:>10,} masks/s")
    print(f"  ratio cold/regex  {figures['cold_vs_regex']}x   (goal <= 40x)")
    print(f"cached parse {figures['cached_parse_ns']:>10} ns")
    print(f"dict.get     {figures['dict_lookup_ns']:>10} ns")
    print(f"  ratio cached/dict {figures['cached_vs_dict']}x   (goal <= 3x)")
    print(f"import eventmask {imp} us (lark is not imported until the first parse)")
    write_result("parse", figures)


if __name__ == "__main__":
    main()
