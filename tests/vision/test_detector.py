"""Detector with the real interpreter: SSD on real photos, YOLO decoding on generated models."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import gateway.inference.tflite as rt
from gateway.camera import read_image
from gateway.inference import RuntimeMissingError, find_runtime, load_model
from gateway.vision.config import DecoderKind, DetectorConfig, ResizeMode
from gateway.vision.decoders import decode_yolo, nms
from gateway.vision.detector import Detector, ModelError
from gateway.vision.labels import LabelMap
from gateway.vision.preprocess import fit_to_input
from tests.vision.tflite_builder import write_yolo_model


@pytest.fixture(scope="module")
def ssd(ssd_config: DetectorConfig) -> Detector:
    return Detector(ssd_config)


def labels_of(det: Detector, image: np.ndarray) -> list[str]:
    return [d.label for d in det.detect(image)]


def test_ssd_finds_people_and_cars_in_photos(ssd: Detector, shared: Path) -> None:
    img = shared / "media/images"
    assert ssd.runtime in ("ai-edge-litert", "tflite-runtime")
    assert (ssd.input_width, ssd.input_height, ssd.input_dtype) == (300, 300, np.uint8)
    assert "person" in labels_of(ssd, read_image(img / "coral_grace_hopper.bmp"))
    assert "person" in labels_of(ssd, read_image(img / "darknet_person.jpg"))
    assert labels_of(ssd, read_image(img / "coral_traffic_frame_0001.bmp")).count("car") >= 2
    for det in ssd.detect(read_image(img / "darknet_dog.jpg")):
        x1, y1, x2, y2 = det.box
        assert 0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1
        assert det.score >= 0.5
    assert ssd.last_times["invoke"] > 0


def test_per_class_thresholds_and_aliases(ssd_config: DetectorConfig, shared: Path) -> None:
    image = read_image(shared / "media/images/darknet_dog.jpg")
    base = Detector(ssd_config.model_copy(update={"min_score": 0.35}))
    all_labels = labels_of(base, image)
    assert "car" in all_labels and "bicycle" in all_labels
    strict = Detector(
        ssd_config.model_copy(update={"min_score": 0.35, "class_thresholds": {"car": 0.99}}),
        class_aliases={"bicycle": "bike"},
    )
    labels = labels_of(strict, image)
    assert "car" not in labels
    assert "bike" in labels and "bicycle" not in labels


def test_label_map_offset(shared: Path, tmp_path: Path) -> None:
    coco = LabelMap.load(shared / "models/coco_ssd_mobilenet_v1/labelmap.txt")
    assert coco.name(0) == "person" and coco.name(2) == "car"  # labelmap[id + 1]
    plain = tmp_path / "labels.txt"
    plain.write_text("cat\ndog\n", encoding="utf-8")
    assert LabelMap.load(plain).name(1) == "dog"
    assert LabelMap.load(plain).name(7) == "class_7"


def test_runtime_selection() -> None:
    module, name = find_runtime()
    assert name in ("ai-edge-litert", "tflite-runtime")
    assert hasattr(module, "Interpreter")
    try:
        import tflite_runtime.interpreter  # noqa: F401
    except ImportError:
        # Only one runtime here: asking for the other still falls back to what exists.
        assert find_runtime(prefer="tflite-runtime")[1] == "ai-edge-litert"
    saved = rt.RUNTIMES
    rt.RUNTIMES = (("no_such_runtime_module", "nothing"),)
    try:
        with pytest.raises(RuntimeMissingError, match="no TFLite runtime: install a TFLite runtime"):
            rt.find_runtime()
    finally:
        rt.RUNTIMES = saved


def test_load_model_api(tmp_path: Path) -> None:
    """The seam every model uses: details, raw invoke, float run, one runtime name."""
    pred = yolo_predictions()
    model = load_model(write_yolo_model(tmp_path / "q.tflite", pred, output_quant=(0.1, 0)), 2)
    assert model.runtime == find_runtime()[1]
    assert model.input_shape[0] == 1 and model.input_shape[3] == 3
    x = np.zeros(model.input_shape, np.dtype(model.input["dtype"]))
    (raw,) = model.invoke(x)
    assert raw.dtype == np.int8  # stored values, as the model holds them
    (real,) = model.run(x.astype(np.float32))
    assert real.dtype == np.float32
    np.testing.assert_allclose(real, pred, atol=0.051)  # one int8 step of scale 0.1
    with pytest.raises(ValueError, match="1 input"):
        model.invoke(x, x)
    with pytest.raises(FileNotFoundError, match="model not found"):
        load_model(tmp_path / "missing.tflite")


def test_quantize_dequantize_round_trip() -> None:
    detail = {"dtype": np.int8, "quantization": (0.5, -3)}
    q = rt.quantize(np.array([-100.0, 0.0, 1.2, 100.0]), detail)
    assert q.dtype == np.int8 and q.tolist() == [-128, -3, -1, 127]  # clipped to int8
    np.testing.assert_allclose(rt.dequantize(q, detail), [-62.5, 0.0, 1.0, 65.0])
    # float tensors and unquantized integers (e.g. a detection count) pass through as float32
    assert rt.quantize(np.array([0.25]), {"dtype": np.float32}).dtype == np.float32
    assert rt.dequantize(np.array([3], np.int32), {"quantization": (0.0, 0)}).tolist() == [3.0]


# ------------------------------------------------------------------------------ YOLO
def yolo_predictions() -> np.ndarray:
    """v8 layout [1, 4 + 2 classes, 8 anchors], boxes in input pixels (16 x 16 input)."""
    pred = np.zeros((1, 6, 8), np.float32)
    pred[0, :, 0] = [8.0, 8.0, 8.0, 4.0, 0.9, 0.0]  # class 0, strong
    pred[0, :, 1] = [8.2, 8.0, 8.0, 4.0, 0.8, 0.0]  # same object, weaker: NMS removes it
    pred[0, :, 2] = [8.2, 8.0, 8.0, 4.0, 0.0, 0.7]  # same place, other class: kept
    pred[0, :, 3] = [3.0, 3.0, 2.0, 2.0, 0.0, 0.3]  # below threshold
    return pred


@pytest.mark.parametrize("output_quant", [None, (0.1, 0)], ids=["float-out", "int8-out"])
def test_yolo_model_letterbox_nms(tmp_path: Path, output_quant) -> None:
    model = write_yolo_model(tmp_path / "yolo.tflite", yolo_predictions(),
                             output_quant=output_quant)
    labels = tmp_path / "labels.txt"
    labels.write_text("person\ncar\n", encoding="utf-8")
    cfg = DetectorConfig(model=str(model), labels=str(labels), decoder=DecoderKind.YOLO,
                         resize=ResizeMode.LETTERBOX, min_score=0.5, nms_iou=0.45)
    det = Detector(cfg)
    # frame twice as wide as high: letterboxed into 16x8 with 4 px bars above and below
    frame = np.full((32, 64, 3), 200, np.uint8)
    found = sorted(det.detect(frame), key=lambda d: -d.score)
    assert [(d.label, round(d.score, 2)) for d in found] == [("person", 0.9), ("car", 0.7)]
    # input box (4..12, 6..10) px -> normalized input y 0.375..0.625 -> frame y 0.25..0.75
    assert found[0].box == pytest.approx((0.25, 0.25, 0.75, 0.75), abs=0.02)


def test_yolo_v5_layout_with_objectness() -> None:
    rows = np.array([
        [0.5, 0.5, 0.2, 0.2, 0.9, 0.1, 0.8],   # objectness 0.9 * class-1 0.8 = 0.72
        [0.5, 0.5, 0.2, 0.2, 0.3, 0.9, 0.1],   # 0.27: dropped
    ], np.float32)[None]
    raw = decode_yolo(rows, (320, 320), 0.5, 0.45, num_classes=2)
    assert raw.class_ids.tolist() == [1]
    assert raw.scores[0] == pytest.approx(0.72)
    assert raw.boxes[0] == pytest.approx([0.4, 0.4, 0.6, 0.6])


def test_int8_input_is_quantised_per_model(tmp_path: Path) -> None:
    model = write_yolo_model(tmp_path / "q.tflite", yolo_predictions(),
                             input_quant=(1 / 255, -128), output_quant=(0.1, 0))
    cfg = DetectorConfig(model=str(model), decoder=DecoderKind.YOLO, input_mean=0.0,
                         input_std=255.0, min_score=0.5)
    det = Detector(cfg)
    assert det.input_dtype == np.int8
    frame = np.zeros((16, 16, 3), np.uint8)
    frame[:, :, 2] = 255  # red in BGR
    tensor, _ = det.prepare(frame)
    assert tensor.dtype == np.int8
    assert tensor[0, 0, 0].tolist() == [127, -128, -128]  # RGB order, pixel - 128
    assert len(det.detect(frame)) == 2


def test_wrong_decoder_for_model_is_a_clear_error(ssd_config: DetectorConfig) -> None:
    with pytest.raises(ModelError, match="YOLO decoder needs 1 output"):
        Detector(ssd_config.model_copy(update={"decoder": DecoderKind.YOLO}))


def test_nms_containment_and_classes() -> None:
    boxes = np.array([[0, 0, 1, 1], [0.1, 0.1, 0.5, 0.5], [0.0, 0.0, 0.95, 1.0]], np.float32)
    scores = np.array([0.9, 0.8, 0.7], np.float32)
    assert nms(boxes, scores, 0.5).tolist() == [0, 1]  # inner box IoU 0.16 survives
    assert nms(boxes, scores, 0.5, containment=0.8).tolist() == [0]
    # per class: box 2 (class 1) only competes with box 1, which overlaps it little
    assert nms(boxes, scores, 0.5, np.array([0, 1, 1])).tolist() == [0, 1, 2]


def test_letterbox_roundtrip() -> None:
    img = np.zeros((100, 400, 3), np.uint8)
    cv2.rectangle(img, (100, 25), (200, 75), (255, 255, 255), -1)
    resized, tf = fit_to_input(img, 64, 64, ResizeMode.LETTERBOX)
    ys, xs = np.nonzero(resized[:, :, 0] > 128)
    box = np.array([[xs.min() / 64, ys.min() / 64, (xs.max() + 1) / 64, (ys.max() + 1) / 64]])
    assert tf.to_frame(box)[0] == pytest.approx([0.25, 0.25, 0.5, 0.75], abs=0.03)
