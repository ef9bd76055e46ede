"""Multi-frame voting of plate reads per vehicle track.

Each frame's read of a track is a :class:`PlateObservation`. :class:`PlateVoter` keeps a
bounded list of them and produces one :class:`PlateVote`: the plate type / length with the
most confidence mass wins, then each character position is chosen by summed confidence of
the reads that agree on that layout. A vote is *certain* (an early preview may be sent)
when enough reads agree exactly with it and their weakest characters are confident.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from gateway.plates.colour import PlateColour
from gateway.plates.format import PlateType, classify


@dataclass(frozen=True)
class PlateObservation:
    """One validated read of a track's plate in one frame."""

    text: str
    char_conf: tuple[float, ...]
    plate_type: PlateType | None
    colour: PlateColour = PlateColour.UNKNOWN
    #: frame time (seconds, any monotonic clock)
    t: float = 0.0
    #: plate box in frame coordinates (x0, y0, x1, y1), if known
    box: tuple[int, int, int, int] | None = None
    #: area of the plate box in pixels; larger plates weigh slightly more
    area: float = 0.0
    #: how far the plate leans in the frame, degrees counter-clockwise (its top edge, from the
    #: finder's corners); None when it was not read from the finder's corners
    tilt: float | None = None

    @property
    def confidence(self) -> float:
        """The weakest character's confidence."""
        return min(self.char_conf) if self.char_conf else 0.0


@dataclass(frozen=True)
class PlateVote:
    """The best plate of a track so far."""

    text: str
    #: voted confidence per character (0..1): share of confidence mass behind that character
    char_conf: tuple[float, ...]
    #: the weakest character's voted confidence
    confidence: float
    plate_type: PlateType | None
    colour: PlateColour
    #: reads considered / reads equal to ``text``
    n_reads: int
    n_agree: int
    #: True when the read is already certain (enough agreeing, confident reads)
    certain: bool
    #: the observation that best supports the vote (for the evidence crop)
    best: PlateObservation | None = field(default=None, repr=False)


class PlateVoter:
    """Collects a track's plate reads and votes on them (bounded memory, not thread-safe)."""

    def __init__(
        self,
        max_reads: int = 30,
        certain_reads: int = 3,
        certain_confidence: float = 0.85,
        min_confidence: float = 0.5,
    ) -> None:
        self.max_reads = max_reads
        self.certain_reads = certain_reads
        self.certain_confidence = certain_confidence
        self.min_confidence = min_confidence
        self._obs: list[PlateObservation] = []

    def __len__(self) -> int:
        return len(self._obs)

    def add(self, obs: PlateObservation) -> None:
        """Add a read; reads below ``min_confidence`` or without a valid format are ignored.

        When full, the weakest read is dropped so memory stays bounded on long tracks.
        """
        if not obs.text or obs.confidence < self.min_confidence:
            return
        if obs.plate_type is None and classify(obs.text) is None:
            return
        self._obs.append(obs)
        if len(self._obs) > self.max_reads:
            weakest = min(range(len(self._obs)), key=lambda i: self._obs[i].confidence)
            self._obs.pop(weakest)

    def vote(self) -> PlateVote | None:
        """The current best plate, or None when no usable read was added."""
        if not self._obs:
            return None
        # 1. layout: (type, length) with the largest confidence mass
        mass: dict[tuple[PlateType | None, int], float] = defaultdict(float)
        for o in self._obs:
            mass[(o.plate_type, len(o.text))] += _weight(o)
        layout = max(mass, key=lambda k: mass[k])
        group = [o for o in self._obs if (o.plate_type, len(o.text)) == layout]
        n = layout[1]
        # 2. per position: character with the largest summed confidence
        chars: list[str] = []
        confs: list[float] = []
        for i in range(n):
            votes: dict[str, float] = defaultdict(float)
            for o in group:
                votes[o.text[i]] += _weight(o) * o.char_conf[i]
            total = sum(_weight(o) for o in group)
            ch = max(votes, key=lambda c: votes[c])
            chars.append(ch)
            confs.append(votes[ch] / total if total > 0 else 0.0)
        text = "".join(chars)
        ptype = classify(text) if classify(text) is not None else layout[0]
        agree = [o for o in self._obs if o.text == text]
        best = max(agree or group, key=_weight)
        colours: dict[PlateColour, float] = defaultdict(float)
        for o in group:
            if o.colour is not PlateColour.UNKNOWN:
                colours[o.colour] += _weight(o)
        colour = max(colours, key=lambda c: colours[c]) if colours else PlateColour.UNKNOWN
        confidence = min(confs) if confs else 0.0
        certain = (
            len(agree) >= self.certain_reads
            and confidence >= self.certain_confidence
            and min(o.confidence for o in agree) >= self.certain_confidence * 0.9
        )
        return PlateVote(
            text=text,
            char_conf=tuple(confs),
            confidence=confidence,
            plate_type=ptype,
            colour=colour,
            n_reads=len(self._obs),
            n_agree=len(agree),
            certain=certain,
            best=best,
        )


def _weight(o: PlateObservation) -> float:
    # confidence dominates; size adds up to +50 % for plates of 4000 px and more
    size = min(1.0, o.area / 4000.0) if o.area > 0 else 0.0
    return o.confidence * (1.0 + 0.5 * size)
