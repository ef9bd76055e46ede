"""``edgepost plates``: plate tooling for the centre (watch lists) and for technicians."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.cli.groups import command_group

# The pixel limit as the help states it; kept equal to gateway.camera.imageio.MAX_PIXELS by a
# test (importing that module here would load OpenCV for every edgepost command).
MAX_PIXELS_HELP = "40 MP"
# The finer searches of `plates read`, in turn, while the default frame size has read nothing.
# 640: on the held-out composites (real plates on real photos, 640x480) it read 178 -> 189 of
# 221 for one more wrong read; on the training side 422 -> 437 of 495 for 6 more (issue 11,
# session 3). 1280 (capped at the photo's own longest side, so only photos larger than 640 px
# take it): on the development province scenes (seed 131, 310 plates 70-200 px wide) it read
# 285 -> 289 at 1280x720 for 1 more wrong read, 271 -> 276 at 1920x1080 for 2 more (session 8).
FINER_FRAME_SIZES = (640, 1280)
# Then, still with nothing read, the image turned by this many degrees either way (tilted
# plates; gateway/plates/rotated.py). On the development province scenes (seed 131, 310 plates
# per tilt band) at 30 degrees: tilted 0-10 degrees no change, 10-20 +6 exact (+4 wrong), 20-30
# +31 (+2), 30-40 +103 (+5); at 22 degrees +133 exact for +10 wrong over the four bands, at 30
# +140 for +11 (session 8).
TURN_DEGREES = 30.0
# Every plate found in a still is looked at again close up (plates.finder.refind_below_width;
# the gateway's 100 px keeps a close-up lane camera's plates at one finder call per frame, a
# still can afford the call). Through this chain on the development sets (session 34, 9894
# scenes: real photos, swap, composites on five placements, provinces, kinds) 5 more exact
# reads and 5 fewer wrong in all (on the composites 4 gained, 1 lost), for 3-7 ms more per
# photo (MODEL_CARD.md, "Session 34").
STILL_REFIND_BELOW_WIDTH = math.inf

if TYPE_CHECKING:
    from gateway.plates.config import PlatesConfig
    from gateway.plates.imagefile import ImageOutcome


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``plates compile-watchlist``, ``plates keygen`` and ``plates read``."""
    _, psub = command_group(sub, "plates", "watch lists and plate reading checks",
                            "Licence-plate tooling: compile a watch list into keyed "
                            "hashes for the gateways, and read the plates in an image.")

    cw = psub.add_parser(
        "compile-watchlist", help="turn a clear watch list into keyed tokens for gateways",
        description="Run centrally, never on a gateway. Reads a UTF-8 CSV with the header "
        "`pattern,kind,label,priority` (only pattern is required; kind: exact, wildcard "
        "with ? and a trailing *, or "
        "fuzzy = edit distance 1; label: an opaque case id, never the plate) and writes the "
        "compiled JSON that [cameras.<name>.plates.watchlist] compiled_path points at. Only "
        "HMAC tokens under the site key leave this machine; plate texts are never printed.")
    cw.add_argument("list", type=Path, help="clear watch list, CSV")
    cw.add_argument("--key", type=Path, required=True,
                    help="site watch-list key file (>= 16 bytes; same file on the gateways; "
                    "make one with `edgepost plates keygen FILE`)")
    cw.add_argument("-o", "--out", type=Path, required=True, help="compiled list to write (JSON)")
    cw.set_defaults(func=cmd_compile_watchlist)

    kg = psub.add_parser(
        "keygen", help="make a site watch-list (or plate privacy) key file, mode 0600",
        description="Write a new random key (hex text) to FILE with mode 0600. The same file "
        "is given to compile-watchlist --key and copied to every gateway of the site as "
        "[cameras.<name>.plates.watchlist] key_file (or privacy.key_file). Refuses to replace "
        "an existing file unless --force.")
    kg.add_argument("out", type=Path, metavar="FILE", help="key file to create")
    kg.add_argument("--bytes", type=int, default=32, choices=range(16, 65), metavar="N",
                    help="random bytes in the key, 16..64 (default 32)")
    kg.add_argument("--force", action="store_true", help="replace an existing key file")
    kg.set_defaults(func=cmd_keygen)

    rd = psub.add_parser(
        "read", help="read the plates in images and folders (installation check)",
        description="Find and read licence plates in image files, each taken as a whole close-up "
        "lane frame, every plate found looked at again close up. Folders are searched "
        "recursively for files with an image extension; files "
        "named on the command line are tried whatever their name. Each image gets one line: its "
        "plates with confidence, type, colour and box; or 'no read' with the reason (nothing "
        "found, or each candidate and why it was rejected); or 'rejected' with why the file "
        "could not be used (not an image, truncated, larger than the pixel limit of "
        f"{MAX_PIXELS_HELP}). A summary line ends the output. Exit status: 0 when every "
        "image could be decoded, 1 when some were rejected, 2 when there was nothing to read.")
    rd.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                    help="image files and folders (any format OpenCV or Pillow decodes)")
    rd.add_argument("--json", action="store_true",
                    help="JSON Lines: one object per image, then one {\"summary\": ...} object")
    rd.add_argument("--frame-size", type=int, default=None, metavar="PX",
                    help="longest side of the frame as fed to the plate finder, 64..1280, a multiple "
                    "of 8 (default 320, and while that reads nothing, finer searches at "
                    f"{' and '.join(map(str, FINER_FRAME_SIZES))} px, never finer than the photo "
                    "itself above 640, then the image framed in grey for a plate that fills the "
                    f"picture, then turned {TURN_DEGREES:g} degrees either way for tilted plates; "
                    "larger finds smaller plates, slower)")
    rd.add_argument("--min-confidence", type=float, default=None, metavar="P",
                    help="accept a read only if its weakest character is at least P, 0..1 "
                    f"(default {_default_min_confidence()}, as on the gateway)")
    rd.set_defaults(func=cmd_read)


def cmd_compile_watchlist(args: argparse.Namespace) -> int:
    from gateway.plates.report import read_key
    from gateway.plates.watchlist import compile_watchlist, parse_watchlist_csv

    try:
        key = read_key(args.key)
    except FileNotFoundError:
        print(f"edgepost: no key file {args.key}: make one with `edgepost plates keygen "
              f"{args.key}` and copy it to the gateways", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"edgepost: cannot use the key: {exc}", file=sys.stderr)
        return 2
    try:
        text = args.list.read_text(encoding="utf-8-sig")  # a spreadsheet's BOM is no column
        entries = parse_watchlist_csv(text)
        compiled = compile_watchlist(entries, key)
    except UnicodeDecodeError:
        print(f"edgepost: {args.list}: not UTF-8 text; save the CSV as UTF-8", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        # WatchListError names the line and the problem, never the plate (the list is sensitive)
        print(f"edgepost: cannot compile {args.list}: {exc}", file=sys.stderr)
        return 2
    args.out.write_text(compiled.to_json(), encoding="utf-8")
    args.out.chmod(0o640)
    print(f"compiled {len(entries)} entries into {args.out}")
    return 0


def cmd_keygen(args: argparse.Namespace) -> int:
    import secrets

    # 32 random bytes written as hex: text survives copying between machines, and read_key
    # (which strips surrounding whitespace) reads back exactly what was written.
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_TRUNC if args.force else os.O_EXCL)
    try:
        fd = os.open(args.out, flags, 0o600)
    except FileExistsError:
        print(f"edgepost: {args.out} exists; a new key invalidates every compiled list and "
              "hashed plate made with the old one. Use --force to replace it.", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"edgepost: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        os.fchmod(fd, 0o600)  # also when --force replaced a wider file; umask can't widen it
        os.write(fd, (secrets.token_hex(args.bytes) + "\n").encode())
    finally:
        os.close(fd)
    print(f"wrote a {args.bytes}-byte key to {args.out} (mode 0600). Use it with "
          "compile-watchlist --key here and as watchlist.key_file on the gateways; keep it "
          "out of backups that leave the site.")
    return 0


def _default_min_confidence() -> float:
    from gateway.plates.config import RecognizerConfig

    return RecognizerConfig().min_char_confidence


def _plates_config(args: argparse.Namespace) -> PlatesConfig:
    from gateway.plates.config import PlatesConfig

    raw: dict[str, dict[str, object]] = {"finder": {"refind_below_width": STILL_REFIND_BELOW_WIDTH}}
    if args.frame_size is not None:
        # "localiser" is the key every version of the config accepts (it is an alias after the
        # rename to "localizer").
        raw["localiser"] = {"frame_input_size": args.frame_size}
    if args.min_confidence is not None:
        raw["recognizer"] = {"min_char_confidence": args.min_confidence}
    return PlatesConfig.model_validate(raw)


def _plate_line(o: ImageOutcome) -> list[str]:
    if o.status == "rejected":
        lines = [f"{o.image}\trejected: {o.reason}"]
    elif o.status == "no_read":
        n = len(o.candidates)
        why = o.reason if not n else f"{n} candidate{'s' if n > 1 else ''} rejected"
        lines = [f"{o.image}\tno read: {why}"]
        for i, c in enumerate(o.candidates, start=1):
            box = ",".join(map(str, c.box))
            lines.append(f"    candidate {i}: box={box} ({c.source}, score {c.score:.2f}): {c.reason}")
    else:
        lines = []
        for p in o.plates:
            box = ",".join(map(str, p.box)) if p.box else "-"
            tilt = "" if p.tilt is None else f"\ttilt={p.tilt:g}"
            lines.append(f"{o.image}\t{p.text}\tconf={p.confidence:.3f}\ttype={p.plate_type}"
                         f"\tcolour={p.colour}\tbox={box}{tilt}")
    lines.extend(f"    note: {n}" for n in o.notes)
    return lines


def cmd_read(args: argparse.Namespace) -> int:
    """Read plates in every image given; print one result per image and a summary."""
    from pydantic import ValidationError

    from gateway.plates.imagefile import (
        Summary,
        collect_images,
        finer_readers,
        quiet_reader,
        read_plate_image,
    )

    try:
        config = _plates_config(args)
    except ValidationError as exc:
        err = exc.errors()[0]
        opt = "--frame-size" if "frame_input_size" in err["loc"] else "--min-confidence"
        print(f"edgepost: {opt}: {err['msg']}", file=sys.stderr)
        return 2
    files, skipped = collect_images(args.paths)
    if not files:
        print(f"edgepost: no image files in {', '.join(map(str, args.paths))} "
              f"({skipped} other files skipped)", file=sys.stderr)
        return 2
    reader = quiet_reader(config)
    finer = finer_readers(config, quiet_reader)

    outcomes = []
    try:
        for path in files:
            # an explicit --frame-size is exactly that; the default also tries finer searches
            default = args.frame_size is None
            o = read_plate_image(reader, path, finer=finer, finer_sizes=FINER_FRAME_SIZES if default else (),
                                 framed=default, turn_degrees=TURN_DEGREES if default else 0.0)
            outcomes.append(o)
            if args.json:
                print(json.dumps(o.as_dict(), ensure_ascii=False), flush=True)
            else:
                print("\n".join(_plate_line(o)), flush=True)
        s = Summary.of(outcomes, skipped)
        if args.json:
            print(json.dumps({"summary": s.as_dict()}), flush=True)
        else:
            extra = f", {s.skipped} non-image files skipped" if s.skipped else ""
            timing = (f"; {s.ms_median:.0f} ms median per image (max {s.ms_max:.0f})"
                      if s.read + s.no_read else "")
            print(f"summary: {s.images} images, {s.read} read ({s.plates} plates), {s.no_read} no "
                  f"read, {s.rejected} rejected{extra}{timing}", flush=True)
    except BrokenPipeError:
        # The reader of our output went away (`... | head`): stop quietly, as other tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return 1 if s.rejected else 0
