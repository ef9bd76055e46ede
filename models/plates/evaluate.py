"""Evaluate the committed plate models with the runtime interpreter (no TensorFlow needed).

    python -m models.plates.evaluate            # recognizer on the validation split
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from models.plates import split as dsplit


def evaluate_recognizer(model_path: Path | None = None, rows: list[tuple[str, str]] | None = None) -> dict:
    """Exact-match and character accuracy of the recognizer on the validation split."""
    from gateway.plates.recognizer import PlateRecognizer

    rec = PlateRecognizer(model_path) if model_path else PlateRecognizer()
    if rows is None:
        _, rows = dsplit.split()
    exact = 0
    chars_ok = 0
    chars_total = 0
    errors = []
    for fname, text in rows:
        img = dsplit.load_crop_bgr(dsplit.DEFAULT_DEV_CROPS / fname)
        read = rec.read(img)
        pred = read.text
        exact += int(pred == text)
        chars_total += len(text)
        # character accuracy: position-wise when lengths match, else via edit distance
        if len(pred) == len(text):
            chars_ok += sum(a == b for a, b in zip(pred, text, strict=True))
        else:
            from gateway.plates.watchlist import levenshtein

            chars_ok += max(0, len(text) - levenshtein(pred, text))
        if pred != text:
            errors.append((fname, text, pred))
    n = len(rows)
    return {
        "n": n,
        "exact_match": exact / n if n else 0.0,
        "char_accuracy": chars_ok / chars_total if chars_total else 0.0,
        "errors": errors,
    }


if __name__ == "__main__":
    p = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    print(json.dumps(evaluate_recognizer(p), ensure_ascii=False, indent=1))
