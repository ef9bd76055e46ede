"""``edgepost plates``: plate tooling for the centre (watch lists) and for technicians."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``plates compile-watchlist`` and ``plates read``."""
    p = sub.add_parser("plates", help="watch lists and plate reading checks",
                       description="Licence-plate tooling: compile a watch list into keyed "
                       "hashes for the gateways, and read the plates in an image.")
    p.set_defaults(group_parser=p)
    psub = p.add_subparsers(title="plates commands", metavar="COMMAND")

    cw = psub.add_parser(
        "compile-watchlist", help="turn a clear watch list into keyed tokens for gateways",
        description="Run centrally, never on a gateway. Reads a CSV with the header "
        "`pattern,kind,label,priority` (kind: exact, wildcard with ? and a trailing *, or "
        "fuzzy = edit distance 1; label: an opaque case id, never the plate) and writes the "
        "compiled JSON that [cameras.<name>.plates.watchlist] compiled_path points at. Only "
        "HMAC tokens under the site key leave this machine; plate texts are never printed.")
    cw.add_argument("list", type=Path, help="clear watch list, CSV")
    cw.add_argument("--key", type=Path, required=True,
                    help="site watch-list key file (raw bytes, >= 16; same file on the gateways)")
    cw.add_argument("-o", "--out", type=Path, required=True, help="compiled list to write (JSON)")
    cw.set_defaults(func=cmd_compile_watchlist)

    rd = psub.add_parser(
        "read", help="read the plates in an image (installation check)",
        description="Find and read licence plates in an image file (the whole image, as for a "
        "close-up lane camera) and print each valid read with its confidence.")
    rd.add_argument("image", type=Path, help="image file (any format OpenCV reads)")
    rd.set_defaults(func=cmd_read)


def cmd_compile_watchlist(args: argparse.Namespace) -> int:
    from gateway.plates.report import read_key
    from gateway.plates.watchlist import MatchKind, WatchEntry, compile_watchlist

    try:
        key = read_key(args.key)
        with args.list.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        entries = []
        for n, row in enumerate(rows, start=2):
            try:
                entries.append(WatchEntry(pattern=row["pattern"].strip(),
                                          kind=MatchKind(row.get("kind") or "exact"),
                                          label=(row.get("label") or "").strip(),
                                          priority=int(row.get("priority") or 1)))
            except (KeyError, ValueError) as exc:
                # Name the line, not its content: the list is sensitive.
                print(f"edgepost: {args.list}: line {n} is not valid ({type(exc).__name__}); "
                      "expected columns pattern,kind,label,priority", file=sys.stderr)
                return 2
        compiled = compile_watchlist(entries, key)
    except (OSError, ValueError) as exc:
        print(f"edgepost: cannot compile the watch list: {exc}", file=sys.stderr)
        return 2
    args.out.write_text(compiled.to_json(), encoding="utf-8")
    args.out.chmod(0o640)
    print(f"compiled {len(entries)} entries into {args.out}")
    return 0


def cmd_read(args: argparse.Namespace) -> int:
    import cv2
    import numpy as np

    from gateway.plates.reader import PlateReader

    try:
        image = cv2.imdecode(np.fromfile(str(args.image), np.uint8), cv2.IMREAD_COLOR)
    except OSError as exc:
        print(f"edgepost: cannot read {args.image}: {exc.strerror}", file=sys.stderr)
        return 2
    if image is None:
        print(f"edgepost: {args.image} is not an image OpenCV can decode", file=sys.stderr)
        return 2
    reads = PlateReader().read_frame(image)
    for obs in reads:
        print(f"{obs.text}\tconf={obs.confidence:.3f}\ttype={obs.plate_type}\tcolour={obs.colour}")
    if not reads:
        print("no plate read")
    return 0
