"""Chinese licence plates at the edge: find, read, validate, vote per track, watch list, privacy.

Wiring into a camera pipeline (one :class:`PlateReader` per camera thread)::

    reader = PlateReader(cfg.plates)               # loads both int8 TFLite models
    reporter = PlateReporter.from_config(cfg.plates)
    voters: dict[int, PlateVoter] = {}

    # every processed frame, for each live vehicle track:
    for obs in reader.read_vehicle(frame_bgr, track.box, t=now):
        voters.setdefault(track.id, PlateVoter(**voting_kwargs(cfg.plates))).add(obs)

    # when the track ends (or, with preview_events, as soon as vote.certain):
    vote = voters.pop(track.id).vote()            # PlateVote | None
    if vote is not None:
        event_fields = reporter.fields(vote, crop_bgr=best_crop)

Only this package's own modules are imported here; OpenCV, numpy and a TFLite runtime
(``ai-edge-litert`` or ``tflite-runtime``) come from the ``vision`` extra.
"""

from __future__ import annotations

from gateway.plates.colour import PlateColour, classify_colour, plate_colour
from gateway.plates.config import (
    EvidenceConfig,
    LocalizerConfig,
    PlatesConfig,
    PrivacyConfig,
    RecognizerConfig,
    VotingConfig,
    WatchListConfig,
)
from gateway.plates.format import PlateType, classify, correct, is_valid
from gateway.plates.privacy import plate_digest, plate_hash
from gateway.plates.voting import PlateObservation, PlateVote, PlateVoter
from gateway.plates.watchlist import (
    CompiledWatchList,
    MatchKind,
    WatchEntry,
    WatchList,
    WatchMatch,
    compile_watchlist,
    levenshtein,
)


def voting_kwargs(config: PlatesConfig) -> dict:
    """Keyword arguments for :class:`PlateVoter` from the config."""
    v = config.voting
    return {
        "max_reads": v.max_reads,
        "certain_reads": v.certain_reads,
        "certain_confidence": v.certain_confidence,
        "min_confidence": v.min_confidence,
    }


def __getattr__(name: str):  # lazy: the model wrappers need numpy/OpenCV/TFLite
    if name in ("PlateReader", "plate_crop"):
        from gateway.plates import reader

        return getattr(reader, name)
    if name in ("PlateRecognizer", "PlateRead"):
        from gateway.plates import recognizer

        return getattr(recognizer, name)
    if name in ("PlateLocalizer", "ClassicalLocalizer", "PlateBox"):
        from gateway.plates import localizer

        return getattr(localizer, name)
    if name in ("PlateReporter",):
        from gateway.plates import report

        return getattr(report, name)
    raise AttributeError(name)


__all__ = [
    "ClassicalLocalizer",
    "CompiledWatchList",
    "EvidenceConfig",
    "LocalizerConfig",
    "MatchKind",
    "PlateBox",
    "PlateColour",
    "PlateLocalizer",
    "PlateObservation",
    "PlateRead",
    "PlateReader",
    "PlateRecognizer",
    "PlateReporter",
    "PlateType",
    "PlateVote",
    "PlateVoter",
    "PlatesConfig",
    "PrivacyConfig",
    "RecognizerConfig",
    "VotingConfig",
    "WatchEntry",
    "WatchList",
    "WatchListConfig",
    "WatchMatch",
    "classify",
    "classify_colour",
    "compile_watchlist",
    "correct",
    "is_valid",
    "levenshtein",
    "plate_colour",
    "plate_digest",
    "plate_hash",
    "voting_kwargs",
]
