"""Must-hold: an intrusion on the person video yields a clip whose first and last frames lie
pre_s before and post_s after the alarm frame (within one frame), that OpenCV decodes, and that
an operator fetches over the private broker (256 KiB packets at most) byte-identical."""

from __future__ import annotations

import hashlib
import time
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

from gateway.broker import LocalMosquitto
from gateway.service.gateway import GatewayService
from tests.clips.operator import Operator, wait_commands_ready
from tests.conftest import Collector, make_config
from tests.vision.conftest import PERSON_VIDEO, SSD_LABELS, SSD_MODEL, shared_dir

PRE_S, POST_S = 3.0, 2.0
START = "2026-12-01T02:00:00+00:00"  # frame time = this + position in the file
MAX_PACKET = 256 * 1024


def hall_camera() -> dict:
    shared = shared_dir()
    return {"source": {"uri": str(shared / PERSON_VIDEO), "pacing": "fast", "start_time": START},
            "detector": {"model": str(shared / SSD_MODEL), "labels": str(shared / SSD_LABELS)},
            "schedule": {"motion_interval_s": 1.0},
            "rules": {"classes": ["person"], "enter_exit": False,
                      "zones": [{"name": "hall", "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]],
                                 "intrusion": True}]},
            "clips": {"enabled": True, "pre_s": PRE_S, "post_s": POST_S}}


def source_frames(n: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(shared_dir() / PERSON_VIDEO))
    frames = [cap.read()[1] for _ in range(n)]
    cap.release()
    return frames


def clip_start(clip: list[np.ndarray], frames: list[np.ndarray], around: int) -> int:
    """The source index (within +-5 of ``around``) where ``clip`` lines up best with the
    source, judged over all its frames (single frames of a still scene are too alike)."""
    def small(img: np.ndarray) -> np.ndarray:
        return cv2.resize(img, (192, 108)).astype(np.float32)

    clip_small = [small(img) for img in clip]
    scores = {}
    for k in range(max(0, around - 5), around + 6):
        if k + len(clip) > len(frames):
            break
        scores[k] = float(np.mean([np.abs(small(frames[k + j]) - c).mean()
                                   for j, c in enumerate(clip_small)]))
    return min(scores, key=scores.__getitem__)


def test_intrusion_clip_fetched_byte_identical(tmp_path: Path) -> None:
    broker = LocalMosquitto(extra_conf=f"max_packet_size {MAX_PACKET}")
    broker.start()
    sub = Collector(broker.port).start()
    cfg = make_config(tmp_path, broker.port, cameras={"hall": hall_camera()})
    service = GatewayService(cfg)
    service.start()
    operator = Operator(broker.port)
    try:
        wait_commands_ready(service)
        assert sub.wait_for(lambda c: any(m.event.type.label == "zone_intrusion"
                                          for m in c.events), 60), "no intrusion"
        alarm = next(m.event for m in sub.events if m.event.type.label == "zone_intrusion")
        clip_id = alarm.body.clip
        assert clip_id, "the intrusion event carries no clip id"
        alarm_t = alarm.ts_ms / 1000 - datetime.fromisoformat(START).timestamp()
        # The clip is ready once post_s of video has passed and it is encoded; until then the
        # gateway answers "pending" with the time it expects it.
        deadline = time.monotonic() + 30
        while (reply := operator.command("clip", {"id": clip_id}))["state"] == "pending":
            assert reply["ok"] and reply["ready_at"] > 0 and reply["ready_in_s"] >= 0
            assert time.monotonic() < deadline, "clip still pending after 30 s"
            time.sleep(0.2)
        assert reply["ok"] and reply["state"] == "ready", reply
        chunks = [reply] + [operator.command("clip", {"id": clip_id, "chunk": i})
                            for i in range(1, reply["chunks"])]
        for i, c in enumerate(chunks):
            assert c["chunk"] == i and hashlib.sha256(c["data"]).hexdigest() == c["chunk_sha256"]
        data = b"".join(c["data"] for c in chunks)
        assert hashlib.sha256(data).hexdigest() == reply["sha256"] and len(data) == reply["size"]
        assert operator.largest_reply <= MAX_PACKET
        on_disk = tmp_path / "clips" / f"{clip_id}.mp4"
        assert data == on_disk.read_bytes()  # byte-identical
        listing = operator.command("clips")["clips"]
        assert clip_id in [c["id"] for c in listing]

        fetched = tmp_path / "fetched.mp4"
        fetched.write_bytes(data)
        cap = cv2.VideoCapture(str(fetched))
        fps = cap.get(cv2.CAP_PROP_FPS)
        decoded = []
        while True:
            ok, img = cap.read()
            if not ok:
                break
            decoded.append(img)
        cap.release()
        assert fps == 10.0 and len(decoded) == round((PRE_S + POST_S) * fps) + 1
        # The first and last decoded frames are the source frames pre_s before and post_s
        # after the alarm frame, within one frame.
        alarm_index = round(alarm_t * fps)
        source = source_frames(alarm_index + round(POST_S * fps) + 10)
        first = clip_start(decoded, source, alarm_index - round(PRE_S * fps))
        last = first + len(decoded) - 1
        assert abs(first - (alarm_index - PRE_S * fps)) <= 1, (first, alarm_index)
        assert abs(last - (alarm_index + POST_S * fps)) <= 1, (last, alarm_index)
    finally:
        operator.close()
        service.stop()
        sub.stop()
        broker.close()
