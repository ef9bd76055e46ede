"""``edgepost plates read`` as a technician uses it: many files and folders, a summary, --json,
the reason for every image without a read, bad files rejected in one line, a quiet stderr.

Real scenes from ../shared/plates/real_scenes_hyperlpr, the real TFLite models, the real
command in a subprocess.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import REPO

SCENES = REPO.parent / "shared" / "plates" / "real_scenes_hyperlpr"
CLOSE_UP = SCENES / "cache_bad2" / "沪A85J08.png"  # read at 0.999 by the committed models
OTHER = SCENES / "cache_bad2" / "川QEZ982.png"
FULL_FRAME = SCENES / "cache_bad2" / "沪B74992.png"  # 1600x1200, plate 221 px wide


def edgepost(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def quiet(res: subprocess.CompletedProcess[str]) -> None:
    """No runtime chatter, no traceback: stderr stays empty on a normal run."""
    assert "INFO" not in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert res.stderr == "", res.stderr


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A folder tree as a technician might point the command at, plus loose files."""
    for p in (CLOSE_UP, OTHER, FULL_FRAME):
        if not p.exists():
            pytest.fail(f"reference data not present: {p} (the shared data must sit at ../shared)")
    root = tmp_path_factory.mktemp("lane")
    folder = root / "车道1"
    (folder / "sub").mkdir(parents=True)
    shutil.copyfile(CLOSE_UP, folder / "a_close.png")
    shutil.copyfile(OTHER, folder / "sub" / "b_other.png")
    cv2.imwrite(str(folder / "c_grey.png"), np.full((480, 640, 3), 128, np.uint8))
    ok, enc = cv2.imencode(".jpg", cv2.imread(str(CLOSE_UP)), [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    jpg = enc.tobytes()
    (folder / "d_broken.jpg").write_bytes(jpg[: len(jpg) // 3])
    (folder / "labels.csv").write_text("filename,plate\n")  # not an image name: skipped
    (folder / ".thumb.png").write_bytes(b"")  # hidden: ignored
    eoi = jpg.rfind(b"\xff\xd9")
    extra = root / "extraneous.jpg"
    extra.write_bytes(jpg[:eoi] + b"\x00\x01\x02\x03" + jpg[eoi:])
    text = root / "readme.txt"
    text.write_text("not a picture\n")
    return {"folder": folder, "extra": extra, "text": text, "missing": root / "gone.png",
            "root": root}


def _args(tree: dict[str, Path]) -> list[str]:
    return [str(tree["folder"]), str(tree["extra"]), str(tree["text"]), str(tree["missing"])]


def test_files_and_folders_in_one_call_with_summary(tree: dict[str, Path]) -> None:
    res = edgepost("plates", "read", *_args(tree))
    quiet(res)
    assert res.returncode == 1, "some files were rejected: exit status 1"
    out = res.stdout
    folder = tree["folder"]
    assert f"{folder / 'a_close.png'}\t沪A85J08\tconf=" in out
    assert f"{folder / 'sub' / 'b_other.png'}\t" in out  # folders are searched recursively
    assert f"{folder / 'c_grey.png'}\tno read: nothing found" in out
    assert f"{folder / 'd_broken.jpg'}\trejected: truncated JPEG" in out
    assert f"{tree['extra']}\t沪A85J08\tconf=" in out  # 4 stray bytes before the EOI: still read
    assert "    note: Corrupt JPEG data" in out  # libjpeg's warning, attached to its file
    assert f"{tree['text']}\trejected: not a known image format" in out
    assert f"{tree['missing']}\trejected: cannot read (No such file or directory)" in out
    assert "labels.csv" not in out and ".thumb" not in out
    last = out.strip().splitlines()[-1]
    assert last.startswith("summary: 7 images, ") and ", 3 rejected, 1 non-image files skipped;" in last
    assert " 1 no read" in last


def test_json_lines_one_object_per_image_and_a_summary(tree: dict[str, Path]) -> None:
    res = edgepost("plates", "read", "--json", *_args(tree))
    quiet(res)
    objs = [json.loads(line) for line in res.stdout.splitlines()]
    summary = objs.pop()["summary"]
    by_name = {Path(o["image"]).name: o for o in objs}
    assert set(by_name) == {"a_close.png", "b_other.png", "c_grey.png", "d_broken.jpg",
                            "extraneous.jpg", "readme.txt", "gone.png"}
    a = by_name["a_close.png"]
    assert a["status"] == "read" and a["width"] == 650 and a["decoder"] == "opencv"
    plate = a["plates"][0]
    assert plate["text"] == "沪A85J08" and plate["colour"] == "blue" and plate["plate_type"] == "standard"
    assert len(plate["char_conf"]) == 7 and plate["confidence"] == min(plate["char_conf"])
    x0, y0, x1, y1 = plate["box"]
    assert 200 < x0 < x1 < 520 and 300 < y0 < y1 < 450  # the plate, not the red overlay bar
    assert by_name["c_grey.png"] | {"ms": 0} == by_name["c_grey.png"] | {
        "status": "no_read", "reason": "nothing found", "candidates": [], "plates": [], "ms": 0}
    for name in ("d_broken.jpg", "readme.txt", "gone.png"):
        assert by_name[name]["status"] == "rejected" and by_name[name]["reason"], name
    statuses = [o["status"] for o in objs]
    assert summary["images"] == 7 and summary["skipped"] == 1
    assert (summary["read"], summary["no_read"], summary["rejected"]) == (
        statuses.count("read"), statuses.count("no_read"), statuses.count("rejected"))
    assert summary["plates"] == sum(len(o["plates"]) for o in objs)
    assert 0 < summary["ms_median"] <= summary["ms_max"]


def test_min_confidence_turns_a_read_into_rejected_candidates_with_reasons(tree: dict[str, Path]) -> None:
    image = str(tree["folder"] / "sub" / "b_other.png")
    first = json.loads(edgepost("plates", "read", "--json", image).stdout.splitlines()[0])
    assert first["status"] == "read" and first["plates"][0]["confidence"] < 1.0
    # Only a read with every character at probability 1 passes: none here.
    res = edgepost("plates", "read", "--json", "--min-confidence", "1", image)
    quiet(res)
    o = json.loads(res.stdout.splitlines()[0])
    assert o["status"] == "no_read" and o["reason"] == "candidates rejected"
    assert o["candidates"], "the candidates that were rejected are listed"
    for c in o["candidates"]:
        assert c["reason"] and len(c["box"]) == 4 and c["source"], c
    # The plate itself is among them, read, with the threshold named as the reason.
    x0, y0 = first["plates"][0]["box"][:2]
    plate = [c for c in o["candidates"] if abs(c["box"][0] - x0) < 20 and abs(c["box"][1] - y0) < 20]
    assert plate and "is below the minimum confidence 1.00" in plate[0]["reason"], o["candidates"]
    text = edgepost("plates", "read", "--min-confidence", "1", image)
    assert f"{image}\tno read: {len(o['candidates'])} candidates rejected" in text.stdout
    assert "    candidate 1: box=" in text.stdout


def test_frame_size_reaches_the_plate_finder(tree: dict[str, Path], tmp_path: Path) -> None:
    if not FULL_FRAME.exists():
        pytest.fail(f"reference data not present: {FULL_FRAME}")
    # The real 1600x1200 frame at a quarter (plate ~55 px) in the middle of a 4800x3600 black
    # frame: searched at 320 px its plate shrinks to ~4 px and is not read; at 640 px (~7 px)
    # and at 1280 px (tiles) it is. (At ~15 px, the full frame's plate, the finder finds it at
    # 320 px and its second look close up, plates.finder.refind, reads it; at ~7 px, the frame
    # halved, the localizer still locates it and the vehicle finder's corners around its box
    # read it, plates.localizer.retry_corners. Until session 33 the default needed 1280 px here:
    # since then a faint candidate at 640 px is confirmed close up, plates.finder.faint_score;
    # the next test keeps a plate that needs 1280 px.)
    import cv2
    import numpy as np

    frame = cv2.imdecode(np.fromfile(FULL_FRAME, np.uint8), cv2.IMREAD_COLOR)
    quarter = cv2.resize(frame, (400, 300), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((3600, 4800, 3), np.uint8)
    canvas[1500:1800, 2000:2400] = quarter
    big = tmp_path / "wide.png"
    cv2.imwrite(str(big), canvas)

    def result(*opts: str) -> dict:
        res = edgepost("plates", "read", "--json", *opts, str(big))
        quiet(res)
        return json.loads(res.stdout.splitlines()[0])

    small, default, large = result("--frame-size", "320"), result(), result("--frame-size", "1280")
    assert small["width"] == default["width"] == large["width"] == 4800
    assert "沪B74992" not in [p["text"] for p in small["plates"]], "exactly 320 px: too small"
    assert "沪B74992" in [p["text"] for p in large["plates"]]
    # the default searches at 320 px, then (nothing read) again at 640 px, and says so
    assert "沪B74992" in [p["text"] for p in default["plates"]]
    assert "read by a finer search (640 px)" in default["notes"]
    assert not any("finer search" in n for n in small["notes"] + large["notes"])


def test_a_smaller_plate_is_read_by_the_search_at_1280(tmp_path: Path) -> None:
    # The same frame at a fifth (plate ~44 px) in the 4800x3600 black frame: at 640 px its
    # plate is ~6 px and nothing is read; the default goes on to 1280 px (tiles) and reads it.
    # (At a quarter, ~55 px, the search at 640 px has read it since session 33: the test above.)
    if not FULL_FRAME.exists():
        pytest.fail(f"reference data not present: {FULL_FRAME}")
    frame = cv2.imdecode(np.fromfile(FULL_FRAME, np.uint8), cv2.IMREAD_COLOR)
    fifth = cv2.resize(frame, (320, 240), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((3600, 4800, 3), np.uint8)
    canvas[1650:1890, 2200:2520] = fifth
    big = tmp_path / "wide_small.png"
    cv2.imwrite(str(big), canvas)
    at_640 = edgepost("plates", "read", "--json", "--frame-size", "640", str(big))
    default = edgepost("plates", "read", "--json", str(big))
    quiet(default)
    assert json.loads(at_640.stdout.splitlines()[0])["status"] == "no_read"
    o = json.loads(default.stdout.splitlines()[0])
    assert [p["text"] for p in o["plates"]] == ["沪B74992"]
    assert "read by a finer search (1280 px)" in o["notes"]


@pytest.mark.parametrize(("long_side", "expected"), [
    (480, [640]),  # a small photo keeps the 640 search of earlier versions
    (640, [640]),
    (650, [640]),  # 648 would search the same pixels again
    (800, [640, 800]),
    (1000, [640, 1000]),  # never finer than the photo: 1000 px tiles are the photo itself
    (1004, [640, 1000]),  # a multiple of 8
    (1920, [640, 1280]),
    (4800, [640, 1280]),
])
def test_the_finer_searches_stop_at_the_photos_own_size(long_side: int, expected: list[int]) -> None:
    from gateway.cli.plates_cmd import FINER_FRAME_SIZES
    from gateway.plates.imagefile import finer_search_sizes

    assert finer_search_sizes(long_side, FINER_FRAME_SIZES, 320) == expected
    # an explicit first size above a finer one skips it
    assert finer_search_sizes(long_side, FINER_FRAME_SIZES, 640) == expected[1:]


@pytest.mark.parametrize(("opts", "message"), [
    (["--frame-size", "100"], "edgepost: --frame-size: Input should be a multiple of 8"),
    (["--frame-size", "4000"], "edgepost: --frame-size: Input should be less than or equal to 1280"),
    (["--min-confidence", "1.5"], "edgepost: --min-confidence: Input should be less than or equal to 1"),
])
def test_bad_options_one_line_no_traceback(opts: list[str], message: str) -> None:
    res = edgepost("plates", "read", *opts, str(CLOSE_UP))
    assert res.returncode == 2
    assert res.stderr.strip() == message and res.stdout == ""


def test_nothing_to_read_exits_2(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    res = edgepost("plates", "read", str(tmp_path))
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.strip() == f"edgepost: no image files in {tmp_path} (1 other files skipped)"


def test_output_cut_short_by_the_reader_ends_quietly(tree: dict[str, Path]) -> None:
    """`edgepost plates read FOLDER | head -1`: no BrokenPipeError traceback."""
    proc = subprocess.Popen([sys.executable, "-m", "gateway", "plates", "read", *_args(tree)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) in (0, 1, 141)
    assert first and "Traceback" not in err and "BrokenPipe" not in err, err


def test_help_states_the_pixel_limit_in_force() -> None:
    from gateway.camera.imageio import MAX_PIXELS
    from gateway.cli.plates_cmd import MAX_PIXELS_HELP

    assert f"{MAX_PIXELS / 1e6:.0f} MP" == MAX_PIXELS_HELP
    res = edgepost("plates", "read", "--help")
    # argparse wraps the help to the terminal's width: compare the words, not the line breaks
    assert res.returncode == 0 and MAX_PIXELS_HELP in " ".join(res.stdout.split())
    for opt in ("--json", "--frame-size", "--min-confidence"):
        assert opt in res.stdout


def test_bad_files_one_line_each(tmp_path: Path) -> None:
    """Every kind of bad file in one call: one 'rejected' line each, with its reason, and no
    warning noise (Pillow's decompression-bomb warning repeats what the refusal says)."""
    from gateway.camera.imageio import read_image
    from tests.plates.test_bad_images import SCENE, bad_files, png_bomb

    for name, (data, _) in bad_files(read_image(SCENE)).items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "bomb.png").write_bytes(png_bomb(10000, 10000))
    res = edgepost("plates", "read", str(tmp_path))
    quiet(res)
    assert res.returncode == 1
    lines = res.stdout.strip().splitlines()
    summary = lines.pop()
    rejected = [ln for ln in lines if "\trejected: " in ln]
    assert len(rejected) == 8, res.stdout
    assert f"{tmp_path / 'bomb.png'}\trejected: the header claims 10000x10000 = 100 megapixels" in res.stdout
    assert "DecompressionBomb" not in res.stdout
    assert summary == "summary: 8 images, 0 read (0 plates), 0 no read, 8 rejected"


def test_a_tilted_plate_is_read_in_the_turned_image(tmp_path: Path) -> None:
    # A real toll-lane photo turned 44 degrees: no search reads it as it is, the finer ones
    # included; the default then reads the image turned 30 degrees either way, and says so; an
    # explicit size is one search. (Turned 40 degrees, it is read without turning, since the
    # plate's panel gives its corners, session 20: checked at the end.)
    from gateway.plates.rotated import turn

    photo = SCENES / "cache_bad2" / "沪D49228.png"
    if not photo.exists():
        pytest.fail(f"reference data not present: {photo}")
    tilted, _ = turn(cv2.imdecode(np.fromfile(photo, np.uint8), cv2.IMREAD_COLOR), 44)
    path = tmp_path / "tilted.png"
    cv2.imwrite(str(path), tilted)
    default = edgepost("plates", "read", "--json", str(path))
    quiet(default)
    o = json.loads(default.stdout.splitlines()[0])
    assert [p["text"] for p in o["plates"]] == ["沪D49228"]
    assert "read in the image turned by 30 degrees either way" in o["notes"]
    once = edgepost("plates", "read", "--json", "--frame-size", "320", str(path))
    assert json.loads(once.stdout.splitlines()[0])["status"] == "no_read"
    less, _ = turn(cv2.imdecode(np.fromfile(photo, np.uint8), cv2.IMREAD_COLOR), 40)
    cv2.imwrite(str(path), less)
    finer = json.loads(edgepost("plates", "read", "--json", str(path)).stdout.splitlines()[0])
    assert [p["text"] for p in finer["plates"]] == ["沪D49228"]
    assert not any("turned" in note for note in finer["notes"]), finer["notes"]


def test_a_plate_crop_is_read_with_the_picture_framed(tmp_path: Path) -> None:
    # A real validation plate crop (94x24 px, never trained on), given as a picture: the finder
    # finds nothing in a plate with no surroundings, and the default then reads it framed in grey,
    # says so, and gives its box in the picture's pixels; an explicit size is one search.
    # (皖A71H99, used until session 20, is now read without the frame: the localizer's box on it
    # is read extended to the left, plates.localizer.retry_extends; 皖AS1Y03, used until session
    # 33, is read as it is since a faint candidate is confirmed close up, plates.finder.faint_score.)
    crop = REPO.parent / "shared" / "plates" / "dev_crops" / "皖A13W08.jpg"
    if not crop.exists():
        pytest.fail(f"reference data not present: {crop}")
    path = tmp_path / "crop.jpg"
    shutil.copyfile(crop, path)
    default = edgepost("plates", "read", "--json", str(path))
    quiet(default)
    o = json.loads(default.stdout.splitlines()[0])
    assert [p["text"] for p in o["plates"]] == ["皖A13W08"]
    assert "read with the image framed in grey (a plate that fills the picture)" in o["notes"]
    x0, y0, x1, y1 = o["plates"][0]["box"]
    assert 0 <= x0 < x1 <= 94 and 0 <= y0 < y1 <= 24
    once = edgepost("plates", "read", "--json", "--frame-size", "320", str(path))
    assert json.loads(once.stdout.splitlines()[0])["status"] == "no_read"


def test_a_still_looks_again_close_up_at_every_plate(tmp_path: Path) -> None:
    # A development composite: the real training-side crop 皖AHX511 (its plate tilted within the
    # crop) pasted 124 px wide on a real photo (`evaluate_scenes --side train --composite-seeds
    # 15`). The gateway's reader reads it from the finder's first corners and, the plate being
    # wider than plates.finder.refind_below_width (100 px), takes that read (皖AHX571 at 0.87 in
    # session 34); `plates read` looks again close up at every plate of a still
    # (plates_cmd.STILL_REFIND_BELOW_WIDTH) and reads it right.
    from gateway.plates.reader import PlateReader
    from models.plates.evaluate_scenes import composite_samples

    reader = PlateReader()
    scene = next(s for s in composite_samples(reader.finder, seed=15, side=0) if s.text == "皖AHX511")
    assert 120 < scene.width < 130
    gateway = reader.read_frame(scene.image)
    assert gateway and gateway[0].text != "皖AHX511", "the gateway's reader now reads it: pick another scene"
    path = tmp_path / "still.png"
    cv2.imwrite(str(path), scene.image)
    res = edgepost("plates", "read", "--json", str(path))
    quiet(res)
    o = json.loads(res.stdout.splitlines()[0])
    assert [p["text"] for p in o["plates"]] == ["皖AHX511"]
    assert o["notes"] == []  # the first search's plate, read again close up: no extra search
