"""Typed, strict, frozen configuration of the plate stage (unknown keys rejected)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field

from gateway.inference.config import BundledModelConfig
from gateway.strict import StrictModel


class RecognizerConfig(BundledModelConfig):
    """The plate reader model (committed: models/plates/recognizer_int8.tflite)."""

    # 0.6 since the calibrated s6 recognizer (session 7), chosen on the development sets: the
    # threshold was lowered in steps of 0.1 while the reads each step added were more often right
    # than wrong (0.7 -> 0.6: 27 more exact reads, 6 more wrong; 0.6 -> 0.5: 18 more exact, 24
    # more wrong). Every read carries its confidence; a site that prefers silence raises this
    # (`plates read --min-confidence`). models/plates/MODEL_CARD.md, "Operating point".
    min_char_confidence: float = Field(
        default=0.6, ge=0.0, le=1.0, description="A read whose weakest character is below this is discarded."
    )
    # the province is the most confused character (reads between 0.7 and 0.9 are right about 60 %
    # of the time there); off by default: on the training-side scenes 0.85 cost 3-6 exact reads
    # per 112 for 1-3 fewer wrong ones. A watch-list site that prefers silence can raise it.
    min_province_confidence: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="A read whose province character is below this is discarded.",
    )
    # The colour rule refuses a white, dark-text crop read as a non-police type (a foreign plate,
    # a sign). Under a cool colour cast a pale yellow plate measures white too, and was refused
    # though read sure at every character; the foreign plates and panels that slip through the
    # recognizer are read at 0.60-0.91 (MODEL_CARD.md, "Haze and glare").
    colour_check_below: float = Field(
        default=0.97,
        ge=0.0,
        le=1.01,
        description="Reads whose weakest character is below this must have a crop whose colours fit "
        "the plate type; surer reads are not refused on colour (above 1: every read is checked).",
    )
    # A second reader (HyperLPR's recognizer, converted) is asked only when a read is rejected or
    # weaker than `second_below` (0.8: the same "not sure" as the warp vote's), and multiplied in
    # per character at `second_weight` (gateway/plates/second_opinion.py; MODEL_CARD.md, "Second
    # opinion"). A rejected read becomes a read only if the combined one reaches `second_below`.
    # Sure reads cost nothing more.
    second_reader: bool = Field(
        default=True, description="Ask the second reader when a read is rejected or below second_below."
    )
    second_below: float = Field(
        default=0.8, ge=0.0, le=1.0,
        description="Reads whose weakest character is below this get a second opinion.",
    )
    second_weight: float = Field(
        default=0.5, gt=0.0, le=1.0,
        description="Exponent of the second reader's probabilities in the product.",
    )
    second_model_path: Path | None = Field(
        default=None, description="Second reader .tflite (None: models/plates/second_reader_int8.tflite)."
    )
    # A province classifier (models/plates/train_province.py) reads the left half of every crop
    # the recognizer reads, and its probabilities, raised to `province_weight`, are multiplied
    # into the first character when that is a province (gateway/plates/province.py;
    # MODEL_CARD.md, "Province reader"). One small model call per read. 0.75 was chosen on the
    # development sets: on the dev province scenes it added 25 exact reads for 1 wrong one over
    # none; 1.0 added 2 more exact and 6 more wrong.
    province_reader: bool = Field(
        default=True, description="Fuse the province classifier's opinion into each read's province."
    )
    province_weight: float = Field(
        default=0.75, gt=0.0, le=2.0,
        description="Exponent of the province classifier's probabilities in the product.",
    )
    province_model_path: Path | None = Field(
        default=None, description="Province reader .tflite (None: models/plates/province_int8.tflite)."
    )
    # A province the recognizer gives 0.99 or more is not overturned by the product at weight
    # 0.75 unless the classifier is all but certain of another; skipping the call there left every
    # development read unchanged (0.999 in session 24; 0.99 in session 27, where 0.98 cost one
    # province read) and saves one model call per sure read (MODEL_CARD.md, "Session 27").
    province_sure_above: float = Field(
        default=0.99, ge=0.0, le=1.01,
        description="Reads whose province character is at or above this keep it without asking the "
        "province reader (above 1: every read is weighed).",
    )
    # on since session 36, chosen on the development sets: under a hard shadow over half the plate
    # the development province scenes read 80 % instead of 73 % (38 fewer wrong reads of 1240) and
    # the training-side toll-lane photos 102 instead of 90 of 112 (10 fewer wrong); clean
    # development scenes are all but untouched (12 615 scene reads: 1 exact read more, 3 wrong
    # fewer). models/plates/MODEL_CARD.md, "Session 36".
    even_shadows: bool = Field(
        default=True,
        description="Even out a hard shadow across a plate (a column far darker than the rest) before "
        "it is read (gateway/plates/shadow.py).",
    )
    # off by default (session 36): on the development sets it read the training-side toll-lane
    # photos with a headlight's glare beside the plate 87 instead of 64 of 112, and held out 77
    # instead of 55 of 100, but held out it cost clean synthetic province scenes 8 exact reads
    # (9 more wrong of 6200), and it reads two regression plates wrong, one of them back to 皖
    # (tests/plates/test_province.py). A site whose cameras face headlights can turn it on.
    # models/plates/MODEL_CARD.md, "Session 36".
    lift_glare: bool = Field(
        default=False,
        description="Lift a glare off part of a plate (its dark level raised by a large step) before it "
        "is read, when no shadow was evened out (gateway/plates/glare.py).",
    )


class LocalizerConfig(BundledModelConfig):
    """Finding plates in vehicle crops and close-up frames (models/plates/localiser_int8.tflite).

    The older key `localiser` is read too."""

    vehicle_input_size: int = Field(
        default=160,
        ge=64,
        le=640,
        multiple_of=8,
        description="Longest side of a vehicle crop fed to the model (px).",
    )
    frame_input_size: int = Field(
        default=320,
        ge=64,
        le=1280,
        multiple_of=8,
        description="Longest side of a whole frame fed to the model (px).",
    )
    threshold: float = Field(default=0.5, gt=0.0, lt=1.0, description="Plate-pixel probability threshold.")
    min_area: int = Field(default=40, ge=1, description="Smallest plate region, in model-input pixels.")
    classical_fallback: bool = Field(
        default=True,
        description="Also try the colour/edge finder when the model's candidates give no valid read.",
    )
    max_candidates: int = Field(
        default=4, ge=1, le=16, description="Candidates read per vehicle crop, best first."
    )
    refine: bool = Field(
        default=True, description="Second localizer pass zoomed on the two best candidates (tighter boxes)."
    )
    retry_trims: bool = Field(
        default=True,
        description="When a candidate gives no valid read, retry it trimmed at the left/right end.",
    )
    retry_extends: bool = Field(
        default=True,
        description="When a candidate still gives no valid read, retry it extended to the left (the "
        "localizer's boxes often stop short of the province character).",
    )
    retry_unrefined: bool = Field(
        default=True,
        description="When a refined candidate gives no valid read, read the box as first located "
        "(the zoomed second pass sometimes cuts a character off).",
    )
    retry_corners: bool = Field(
        default=True,
        description="When a candidate still gives no valid read, look for the plate's corners in a "
        "cut around it with the vehicle finder and read it warped flat from them.",
    )
    retry_min_confidence: float = Field(
        default=0.95, ge=0.0, le=1.0,
        description="A read found by retry_corners is kept only at this confidence or more (a second "
        "search that tries more cuts finds more confident wrong reads).",
    )
    unrefined_min_confidence: float = Field(
        default=0.9, ge=0.0, le=1.0,
        description="A read found by retry_unrefined (other than by its corner retry, which keeps "
        "retry_min_confidence) is kept only at this confidence or more.",
    )
    vehicle_pad: float = Field(
        default=0.05,
        ge=0.0,
        le=0.5,
        description="Vehicle box enlarged by this share of its size on each side.",
    )


class FinderConfig(BundledModelConfig):
    """The corner-point plate detector (HyperLPR3 y5fu, TFLite) tried before the localizer."""

    enabled: bool = Field(
        default=True,
        description="Find plates with the y5fu detector (four corners, plate warped flat before reading).",
    )
    model_path: Path | None = Field(
        default=None,
        description="Finder for whole frames; None uses models/plates/plate_finder_y5fu320_f16.tflite.",
    )
    vehicle_model_path: Path | None = Field(
        default=None,
        description="Finder for vehicle crops; None uses models/plates/plate_finder_y5fu160_f16.tflite.",
    )
    # A 16:9 frame letterboxed into the square finder is 44 % black padding; the same weights at
    # a lower input convolve only the frame, at the same scale (MODEL_CARD.md, "Session 31: Wide
    # frames"). A frame that fits none of them (4:3, square, portrait) uses the square finder.
    wide_model_paths: list[Path] | None = Field(
        default=None,
        description=(
            "Finders for wide frames (same weights, the square finder's width, a lower height; a frame "
            "goes through the lowest it fits at the square finder's scale); None uses "
            "models/plates/plate_finder_y5fu320x192_f16.tflite (16:9), [] the square finder alone."
        ),
    )
    # A car's box is about 4:3: letterboxed into the square 160 px vehicle finder it is a quarter
    # black padding (MODEL_CARD.md, "Session 37").
    vehicle_wide_model_paths: list[Path] | None = Field(
        default=None,
        description=(
            "Finders for wide vehicle boxes (the vehicle finder's weights at its width and a lower "
            "height; a box goes through the lowest it fits at the square finder's scale); None uses "
            "models/plates/plate_finder_y5fu160x128_f16.tflite, [] the square vehicle finder alone."
        ),
    )
    num_threads: int = Field(default=1, ge=1, le=4, description="TFLite interpreter threads.")
    score_threshold: float = Field(
        default=0.3, gt=0.0, lt=1.0, description="Objectness x class score a candidate needs."
    )
    # Two-row plates (trucks, the haulers a reservoir checkpoint stops) score lower in y5fu than
    # one-row ones: on development two-row scenes most plates the finder missed at 0.3 scored
    # 0.06-0.27 (MODEL_CARD.md, "Two-row plates"). Their reads still pass every rule a one-row
    # read does.
    double_row_score_threshold: float = Field(
        default=0.1, gt=0.0, lt=1.0, description="Objectness x class score a two-row candidate needs."
    )
    max_candidates: int = Field(default=3, ge=1, le=16, description="Candidates read per image, best first.")
    fallback: bool = Field(
        default=True,
        description="When no finder candidate gives a valid read, also try the localizer and its fallbacks.",
    )
    margin_x: float = Field(
        default=0.0, ge=0.0, le=0.3, description="Scene kept left and right of the plate (share of width)."
    )
    margin_y: float = Field(
        default=0.0, ge=0.0, le=0.3, description="Scene kept above and below the plate (share of its height)."
    )
    # Test-time voting over warps (gateway/plates/warp_vote.py): a candidate whose first read is
    # missing, rejected or has a character below `vote_below` is read again from up to
    # `vote_warps` slightly different warps (looser/tighter frame, shifts of 1.5 % of the width)
    # and the reads are averaged per character (confidences are means over the warps, never
    # inflated). Chosen on the training side (4 warps below 0.8: 5 more exact reads of 1326
    # scenes, 2 fewer wrong; 0.97 turned right reads wrong): models/plates/MODEL_CARD.md.
    vote_warps: int = Field(
        default=4,
        ge=0,
        le=8,
        description="Extra warps read for a candidate whose first read is not sure (0 = one warp only).",
    )
    vote_below: float = Field(
        default=0.8,
        ge=0.0,
        le=1.0,
        description="A valid first read whose weakest character is at least this is kept as it is; "
        "weaker or rejected first reads are voted over the extra warps.",
    )
    # A finder candidate whose read is still not sure after the vote and the second opinion
    # (weaker than `vote_below`, or rejected), and every plain crop (a localizer box, a crop given
    # to read_plate_crop: no corners known), is looked for again by the vehicle finder in a close
    # cut around it, warped flat from the corners found there and read; the more confident read
    # is kept. It helps where the first corners were coarse or missing: a small plate in a large
    # frame, a tilted plate in an axis-aligned crop (MODEL_CARD.md, "Found again, close up").
    refind: bool = Field(
        default=True,
        description="Look again close up, with the vehicle finder, at plain crops and at found plates "
        "whose read is not sure; keep the more confident read.",
    )
    # A small plate's corners are coarse even when its read is sure: on the development scenes,
    # looking again at plates under 80 px wide gained 5 exact reads and 5 fewer wrong on the
    # composites and provinces (session 23); under 100 px, 4 more exact and 3 fewer wrong (session
    # 24). Wider thresholds gained a little more there, but from 120 px they would look again at
    # every plate of a close-up lane camera (117-157 px wide in the bench's frames): one more
    # finder call per plate on every frame (MODEL_CARD.md, "Session 24").
    refind_below_width: float = Field(
        default=100.0,
        ge=0.0,
        description="Found plates narrower than this (px) are looked at again close up even when "
        "their read is sure (0: only reads not sure).",
    )
    # The finder's corners are often off by a tenth of the width for two-row plates (its rare
    # class) and now and then for one-row ones; the cut then loses a character, most often the
    # province (gateway/plates/panel.py; MODEL_CARD.md, "Plate panels, session 20").
    # y5fu's corners on small plates are off by about 6 % of the plate's width; a small
    # regressor trained on this project's own chain crops brings that to about 2 %. Off by
    # default: held-out, at 100 px, province scenes read 12 more of 6200 (2 fewer wrong), but
    # the halved toll-lane photos read one fewer (94 of 100, under the 95 %) and the
    # real-plate composites 1 more with 3 more wrong (MODEL_CARD.md, "Session 40"). Used on
    # every read instead of on reads not sure, it gained as many plates as it lost.
    refine_corners_below: float = Field(
        default=0.0,
        ge=0.0,
        description="Found plates narrower than this (px) whose read is not sure are read again from "
        "corners refined by the corner regressor; the more confident read is kept (0: never).",
    )
    corner_refiner_path: Path | None = Field(
        default=None,
        description="Corner regressor .tflite; None uses models/plates/corner_refiner_f16.tflite.",
    )
    panel_corners: bool = Field(
        default=True,
        description="Read a found plate whose read is not sure again, warped from the corners of its "
        "own coloured panel, and keep the more confident read; two-row plates the localizer finds "
        "(no corners) are read from their panel too.",
    )
    # A plate 40-60 px wide in a 640 px frame is 20-30 px in the finder's 320 px input: the
    # finder often still sees it, but below score_threshold (on development composites, 22 of
    # 48 such plates missed had a candidate at 0.02-0.27). When nothing that passes gives a
    # read, the faint candidates are looked at again close up (as `refind` does): only a plate
    # the vehicle finder finds there, at a scale it knows, with a read that passes every rule,
    # counts. On development scenes: composites +18 exact of 2475 and 3 fewer wrong, provinces
    # +6 of 3100, no new read on plate-free media (MODEL_CARD.md, "Session 33").
    faint_score: float = Field(
        default=0.02,
        ge=0.0,
        lt=1.0,
        description="When no candidate above score_threshold gives a read in a whole frame, "
        "candidates down to this score are looked at again close up by the vehicle finder (0: off; "
        "needs refind).",
    )
    faint_candidates: int = Field(
        default=2, ge=1, le=8, description="Faint candidates looked at again, best first."
    )


class VotingConfig(StrictModel):
    """Multi-frame voting per vehicle track."""

    max_reads: int = Field(
        default=30, ge=1, le=1000, description="Reads kept per track (the weakest are dropped)."
    )
    min_reads: int = Field(
        default=1, ge=1, description="Reads needed before a plate is put in the vehicle event."
    )
    certain_reads: int = Field(
        default=3, ge=1, description="Agreeing reads that make a vote certain (preview event)."
    )
    certain_confidence: float = Field(
        default=0.85, ge=0.0, le=1.0, description="Voted confidence a certain vote needs on every character."
    )
    min_confidence: float = Field(
        default=0.55, ge=0.0, le=1.0, description="Reads with a weaker character than this are not voted."
    )
    preview_events: bool = Field(
        default=False, description="Send an early plate event as soon as a vote is certain."
    )


class WatchListConfig(StrictModel):
    """Watch list matched at the edge as keyed hashes."""

    enabled: bool = Field(default=False, description="Match every voted plate against the compiled list.")
    compiled_path: Path | None = Field(default=None, description="Compiled (hashed) list file, JSON.")
    key_file: Path | None = Field(
        default=None,
        description="File holding the site watch-list key (raw bytes, >= 16); readable by the service only.",
    )
    match_priority: int = Field(
        default=2, ge=0, le=9, description="Event priority given to a match (at least)."
    )


class PrivacyConfig(StrictModel):
    """How plate text leaves the gateway."""

    mode: Literal["clear", "hash"] = Field(
        default="clear", description="'clear' sends the text; 'hash' sends HMAC-SHA256(site key, plate) only."
    )
    key_file: Path | None = Field(
        default=None, description="File holding the privacy key (raw bytes, >= 16)."
    )
    hash_bytes: int = Field(default=16, ge=8, le=32, description="Bytes of the HMAC kept in the event.")


class EvidenceConfig(StrictModel):
    """Optional evidence crop of the plate in the event."""

    send_crop: bool = Field(default=False, description="Attach a JPEG crop of the best plate read.")
    max_bytes: int = Field(default=6000, ge=500, le=100_000, description="Upper bound on the JPEG size.")
    max_width: int = Field(
        default=240, ge=32, le=1024, description="Crop is downscaled to at most this width (px)."
    )


class PlatesConfig(StrictModel):
    """The plate stage of a camera pipeline."""

    enabled: bool = Field(default=True, description="Read plates on vehicle tracks of this camera.")
    frame_mode: bool = Field(
        default=False,
        description="Also search the whole frame (close-up lane camera) instead of vehicle boxes only.",
    )
    # The finder (y5fu, trained on road scenes with mostly level plates) misses plates tilted past
    # ~20 degrees (development province scenes: 82 % read at 20-30, 54 % at 30-40). A camera
    # mounted rolled, or looking across the lanes from the roadside, sees its plates lean about
    # the same way every time: the frame or vehicle box is turned back by that much before the
    # search (one image turn per look; models/plates/MODEL_CARD.md, "Session 32").
    plate_tilt: float = Field(
        default=0.0,
        ge=-45.0,
        le=45.0,
        description="Degrees this camera's plates lean in its image, counter-clockwise positive "
        "(the plate's right end higher); frames and vehicle boxes are turned back by it before "
        "plates are looked for (`edgepost plates read` on a still from the camera prints each "
        "plate's tilt). 0: not turned.",
    )
    recognizer: RecognizerConfig = Field(
        default_factory=RecognizerConfig, description="Reader model settings."
    )
    # The key was spelled `localiser` before the code settled on American spelling: both are read.
    localizer: LocalizerConfig = Field(
        default_factory=LocalizerConfig,
        validation_alias=AliasChoices("localizer", "localiser"),
        description="Plate finder settings (the older key `localiser` is also accepted).",
    )
    finder: FinderConfig = Field(
        default_factory=FinderConfig, description="Corner-point plate detector, tried before the localizer."
    )
    voting: VotingConfig = Field(default_factory=VotingConfig, description="Per-track voting settings.")
    watchlist: WatchListConfig = Field(default_factory=WatchListConfig, description="Edge watch list.")
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig, description="Plate text privacy.")
    evidence: EvidenceConfig = Field(default_factory=EvidenceConfig, description="Evidence crop settings.")
    # Vehicles with no read (issue 11 item 4). A passage still goes out, with plate_status
    # unreadable (a plate was found) or absent (none was, on a vehicle seen large enough):
    # a covered or missing plate is what a checkpoint must flag.
    report_unread: bool = Field(
        default=True,
        description="A vehicle that crossed a line (any vehicle, on a camera without lines) with no "
        "plate read still gives a vehicle_passage, with plate_status unreadable or absent.",
    )
    # Measured on 50 real toll-lane scenes (real_scenes_hyperlpr, overlay masked, vehicle box
    # from COCO SSD): the 160 px finder found 49 of 50 plates at >= 0.5 down to plates 23-37 px
    # wide. A whole car seen from the front is about 4x its plate's width, so 200 px keeps
    # the plate at ~50 px, twice what the finder needs: a vehicle that size with no plate found
    # most likely shows none. On a 640 px frame that is a third of the width; on 1280, a sixth.
    absent_min_vehicle_px: int = Field(
        default=200,
        ge=32,
        le=4096,
        description="Plate 'absent' only for a vehicle seen at least this wide (frame px, its whole "
        "lower edge in view); smaller vehicles with no plate found give no passage.",
    )
    absent_min_frames: int = Field(
        default=3,
        ge=1,
        le=100,
        description="Frames the vehicle must be seen that large before 'absent' is said.",
    )
    # Motorcycles carry a rear plate only: a camera facing traffic would flag every one.
    absent_classes: tuple[str, ...] = Field(
        default=("car", "truck", "bus"),
        description="Vehicle classes that can be reported with plate_status absent.",
    )
    # Finder candidates on 60 real toll-lane vehicles (real_scenes_hyperlpr) with the plate painted
    # over (bumper colour, black, white): 17 of 180 scored >= 0.5 (up to 0.75), all on grilles,
    # logos or the cover, all black, white or colourless. The real plates scored 0.72-0.90, shrunk
    # to 1/12 0.70-0.89, heavily blurred 0.51-0.85, all blue or yellow (colour survives blur). So
    # a coloured candidate counts from 0.5, a plain one (white police, black HK plates, or any
    # plate under IR at night) only when the finder is surer than it ever was on a covered plate.
    candidate_min_score: float = Field(
        default=0.5,
        gt=0.0,
        lt=1.0,
        description="A blue, yellow or green plate candidate at least this score makes an unread "
        "vehicle 'unreadable', not 'absent'.",
    )
    plain_candidate_min_score: float = Field(
        default=0.8,
        gt=0.0,
        le=1.0,
        description="The same for a white, black or colourless candidate (grilles and logos look "
        "like that); in a frame without colour (infrared) every candidate is judged by "
        "candidate_min_score.",
    )
