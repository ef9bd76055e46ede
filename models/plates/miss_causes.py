"""Why plates of the synthetic province set are missed: a diagnosis, not a score.

    python -m models.plates.miss_causes [--per-province 40] [--seed 131] [--json]

Every plate the reader does not read exactly is put in one bucket:

* **wrong**: a read was accepted, and is wrong at the province only, elsewhere only, or both;
* **not found**: no finder candidate lies on the plate;
* **rejected**: a finder candidate lies on the plate, and the read the reader judged there
  (``PlateReader.warped_read``: the vote over warps when it votes) was refused, by the
  reader's own reason (``PlateReader.rejection``): a character below the minimum confidence
  (the province counted apart), no mainland format (with the read's length against the
  plate's), a colour that does not fit;
* **accepted here**: the judged read passes, yet ``read_frame`` gave none (another candidate
  or rule won).

For rejected provinces it also says whether the province the recognizer preferred was the
right one, and at what confidence. The default seed (131) is a development seed: the
validation figures of the model card come from ``evaluate_scenes --sets provinces`` (seed 31),
which nothing is chosen on.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from models.plates.evaluate_scenes import Sample, province_samples


def _on_plate(centre: np.ndarray, corners: np.ndarray) -> bool:
    """A candidate's centre within the plate's quadrilateral."""
    import cv2

    return cv2.pointPolygonTest(corners.astype(np.float32), (float(centre[0]), float(centre[1])),
                                False) >= 0


def diagnose(samples: Iterable[Sample], recognizer: Path | None = None) -> dict[str, Any]:
    """Buckets of the misses on scenes whose plate corners are known (``Sample.corners``)."""
    from gateway.plates.config import PlatesConfig, RecognizerConfig
    from gateway.plates.reader import PlateReader

    reader = PlateReader(PlatesConfig(recognizer=RecognizerConfig(model_path=recognizer)))
    assert reader.finder is not None, "the diagnosis is of the finder chain"
    buckets: Counter[str] = Counter()
    rejected: Counter[str] = Counter()
    province_low: list[tuple[bool, float]] = []  # (top-1 province right, its confidence)
    n = 0
    for s in samples:
        n += 1
        assert s.corners is not None
        reads = reader.read_frame(s.image)
        got = reads[0].text if reads else ""
        if got == s.text:
            buckets["exact"] += 1
            continue
        if got:
            wrong_province = got[:1] != s.text[:1]
            wrong_rest = got[1:] != s.text[1:]
            where = ("province and elsewhere" if wrong_province and wrong_rest
                     else "province only" if wrong_province else "elsewhere only")
            buckets[f"wrong: {where}"] += 1
            continue
        near = [p for p in reader.finder.find(s.image) if _on_plate(p.corners.mean(axis=0), s.corners)]
        judged = reader.warped_read(s.image, near[0]) if near else None
        if judged is None:
            buckets["no read: not found"] += 1
            continue
        reason = reader.rejection(judged.read, judged.flat)
        if reason is None:
            buckets["no read: accepted here"] += 1
            continue
        buckets["no read: rejected"] += 1
        if reason.startswith("character 1 "):
            rejected["province below the minimum confidence"] += 1
            top = judged.read.alternatives[0][0][0] if judged.read.alternatives else ""
            province_low.append((top == s.text[0], judged.read.char_conf[0]))
        elif reason.startswith("character "):
            rejected["another character below the minimum confidence"] += 1
        elif "fits no mainland plate format" in reason:
            rejected[f"no format: {len(judged.read.text)} characters for "
                     f"{len(s.text)}"] += 1
        else:
            rejected[reason.split(",")[0].split(":")[0]] += 1
    out: dict[str, Any] = {"n": n, "buckets": dict(buckets.most_common()),
                           "rejected": dict(rejected.most_common())}
    if province_low:
        confs = [c for _, c in province_low]
        out["province_below_minimum"] = {
            "n": len(province_low), "top1_right": sum(r for r, _ in province_low),
            "confidence_median": round(statistics.median(confs), 2)}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--per-province", type=int, default=40)
    ap.add_argument("--seed", type=int, default=131, help="renderer seed (31 is the validation set's)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument(
        "--recognizer", type=Path, default=None, help="recognizer .tflite (default: the committed one)"
    )
    args = ap.parse_args()
    res = diagnose(province_samples(args.per_province, seed=args.seed), args.recognizer) | {"seed": args.seed}
    if args.json:
        print(json.dumps(res, ensure_ascii=False, indent=1))
        return 0
    print(f"{res['n']} synthetic plates (seed {res['seed']})")
    for name, count in res["buckets"].items():
        print(f"  {name:32} {count:5}  {100 * count / res['n']:5.1f} %")
    print("rejected, by the reader's reason:")
    for name, count in res["rejected"].items():
        print(f"  {name:48} {count:5}")
    low = res.get("province_below_minimum")
    if low:
        print(f"province below the minimum: the preferred province is right in {low['top1_right']} "
              f"of {low['n']} (median confidence {low['confidence_median']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
