"""TFLite object detector: preprocessing, quantisation, invoke and output decoding."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gateway.assets.resolve import labels_for, resolve
from gateway.inference import dequantize, load_model, quantize
from gateway.vision.config import DecoderKind, DetectorConfig
from gateway.vision.decoders import RawDetections, decode_ssd, decode_yolo
from gateway.vision.detection import Detection
from gateway.vision.labels import LabelMap
from gateway.vision.preprocess import InputFitter, limit_opencv_threads

log = logging.getLogger(__name__)


class ModelError(ValueError):
    """The model file does not fit the configured decoder or input format."""


class Detector:
    """Runs one TFLite detection model on BGR frames.

    Supports uint8, int8 and float32 inputs: uint8 inputs take raw pixels, int8 inputs the
    value ``(pixel - input_mean) / input_std`` quantised with the input's (scale, zero_point),
    float inputs ``(pixel - input_mean) / input_std``. Quantised
    outputs are dequantised before decoding. ``class_aliases`` renames labels for this camera
    and thresholds apply to the renamed labels.
    """

    def __init__(
        self,
        cfg: DetectorConfig,
        *,
        model_path: str | Path | None = None,
        class_aliases: Mapping[str, str] | None = None,
        prefer_runtime: str | None = None,
        asset_cache: str | Path | None = None,
    ) -> None:
        self.cfg = cfg
        # cfg.model may name a manifest asset: the cached copy is SHA-256 checked first, so a
        # tampered or truncated model raises AssetVerificationError instead of being loaded.
        path = str(model_path or resolve(cfg.model, cache_dir=asset_cache))
        # labels, like model, may be a path or an asset name (a verified cached label map)
        labels_path = resolve(cfg.labels, cache_dir=asset_cache) if cfg.labels else (
            None if model_path else labels_for(cfg.model, cache_dir=asset_cache)
        )
        self.model = load_model(
            path, cfg.num_threads, use_xnnpack=cfg.use_xnnpack, prefer=prefer_runtime
        )
        self.runtime = self.model.runtime
        self.model_path = path
        inp = self.model.inputs
        if len(inp) != 1 or len(inp[0]["shape"]) != 4 or inp[0]["shape"][3] != 3:
            raise ModelError(f"{path}: expected one NHWC RGB input, got {[d['shape'] for d in inp]}")
        self._input = inp[0]
        _, self.input_height, self.input_width, _ = (int(v) for v in inp[0]["shape"])
        self.input_dtype = np.dtype(inp[0]["dtype"])
        self._outputs = self.model.outputs
        if cfg.decoder is DecoderKind.SSD and len(self._outputs) != 4:
            raise ModelError(f"{path}: SSD decoder needs 4 outputs, model has {len(self._outputs)}")
        if cfg.decoder is DecoderKind.YOLO and len(self._outputs) != 1:
            raise ModelError(f"{path}: YOLO decoder needs 1 output, model has {len(self._outputs)}")
        self.labels = LabelMap.load(labels_path, cfg.label_offset) if labels_path else None
        limit_opencv_threads()
        self._fitter = InputFitter(self.input_width, self.input_height, cfg.resize,
                                   to_rgb=not cfg.bgr_input)
        self.aliases = dict(class_aliases or {})
        self._input_lut = self._make_input_lut()
        self._lut_out: np.ndarray | None = None
        # The decoder's own cut-off must be the lowest threshold any class uses.
        self._decode_min = min([cfg.min_score, *cfg.class_thresholds.values()])
        self.last_times: dict[str, float] = {"preprocess": 0.0, "invoke": 0.0, "decode": 0.0}

    def _make_input_lut(self) -> np.ndarray | None:
        # uint8 models (TFLite's quantised detection zoo) are trained to take raw pixels: their
        # input quantisation is exactly the [-1, 1] normalisation, so no conversion at all.
        # int8 models get pixel -> stored value per (scale, zero_point) and mean/std,
        # precomputed for all 256 pixel values so the per-frame conversion is one lookup.
        if self.input_dtype in (np.float32, np.uint8):
            return None
        scale, _ = self._input.get("quantization", (0.0, 0))
        if not scale:
            raise ModelError(f"{self.model_path}: {self.input_dtype} input without quantisation")
        pixels = np.arange(256, dtype=np.float32)
        return quantize((pixels - self.cfg.input_mean) / self.cfg.input_std, self._input)

    def prepare(self, image: np.ndarray) -> tuple[np.ndarray, Any]:
        """Model-ready input tensor and the transform back to frame coordinates.

        The tensor lives in this detector's reused buffer: it is valid until the next call
        (copy it to keep it)."""
        resized, transform = self._fitter.fit(image)
        if self.input_dtype == np.float32:
            tensor = (resized.astype(np.float32) - self.cfg.input_mean) / self.cfg.input_std
        elif self._input_lut is not None:
            if self._lut_out is None:
                self._lut_out = np.empty(resized.shape, self._input_lut.dtype)
            tensor = np.take(self._input_lut, resized, out=self._lut_out)  # no new array
        else:
            tensor = resized  # uint8 models take the pixels as they are
        return tensor[None], transform

    def invoke(self, tensor: np.ndarray) -> list[np.ndarray]:
        """Run the interpreter on a prepared tensor; return dequantised outputs."""
        raw = self.model.invoke(tensor)
        return [dequantize(out, d) for out, d in zip(raw, self._outputs, strict=True)]

    def decode(self, outputs: list[np.ndarray]) -> RawDetections:
        """Apply the configured output decoder."""
        if self.cfg.decoder is DecoderKind.SSD:
            return decode_ssd(outputs, self._decode_min)
        return decode_yolo(
            outputs[0], (self.input_width, self.input_height), self._decode_min,
            self.cfg.nms_iou, objectness=self.cfg.yolo_objectness,
            num_classes=len(self.labels) if self.labels else None,
            max_detections=self.cfg.max_detections,
        )

    def label(self, class_id: int) -> str:
        """Label for a model class id, after this camera's aliases."""
        name = self.labels.name(class_id) if self.labels else f"class_{class_id}"
        return self.aliases.get(name, name)

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Detect objects in a BGR frame; boxes are normalized to the frame."""
        t0 = time.perf_counter()
        tensor, transform = self.prepare(image)
        t1 = time.perf_counter()
        outputs = self.invoke(tensor)
        t2 = time.perf_counter()
        raw = self.decode(outputs)
        boxes = transform.to_frame(raw.boxes) if len(raw.boxes) else raw.boxes
        dets: list[Detection] = []
        for box, score, cid in zip(boxes, raw.scores, raw.class_ids, strict=True):
            name = self.label(int(cid))
            if float(score) < self.cfg.class_thresholds.get(name, self.cfg.min_score):
                continue
            x1, y1, x2, y2 = (float(v) for v in box)
            if x2 <= x1 or y2 <= y1:
                continue
            dets.append(Detection((x1, y1, x2, y2), float(score), int(cid), name))
            if len(dets) >= self.cfg.max_detections:
                break
        t3 = time.perf_counter()
        self.last_times = {"preprocess": t1 - t0, "invoke": t2 - t1, "decode": t3 - t2}
        return dets
