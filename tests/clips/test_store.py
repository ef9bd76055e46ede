"""The frame ring, the recorder and the clip store on real frames, real MP4 files and a real spool."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from gateway.clips.commands import clip_command, clips_command
from gateway.clips.config import ClipsConfig, ClipStoreConfig
from gateway.clips.recorder import ClipRecorder
from gateway.clips.ring import FrameRing
from gateway.clips.store import ClipError, ClipInfo, ClipStore
from gateway.uplink.spool import Draft, Spool
from tests.vision.conftest import PERSON_VIDEO, shared_dir

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    """The first 12 s of the person video (10 fps, 768x432)."""
    cap = cv2.VideoCapture(str(shared_dir() / PERSON_VIDEO))
    out = []
    while len(out) < 120:
        ok, img = cap.read()
        assert ok
        out.append(img)
    cap.release()
    return out


def wait_state(store: ClipStore, clip_id: str, timeout: float = 30.0) -> ClipInfo:
    """Poll the store (an observable state) until the clip is no longer pending."""
    import time

    deadline = time.monotonic() + timeout
    while (info := store.get(clip_id)).state == "pending":
        assert time.monotonic() < deadline, f"clip {clip_id} still pending"
        time.sleep(0.05)
    return info


def test_ring_keeps_seconds_fps_and_bytes(frames: list[np.ndarray]) -> None:
    ring = FrameRing(keep_s=3.0, max_fps=5.0, quality=75)
    for i, img in enumerate(frames):
        ring.push(img, i / 10, 1e9 + i / 10, i)
    kept = ring.since(0)
    assert 14 <= len(kept) <= 16  # 3 s at 5 fps, of a 10 fps source
    assert kept[-1].t == pytest.approx(11.8) and kept[0].t >= 11.8 - 3.0 - 1e-9
    assert ring.bytes == sum(len(f.jpeg) for f in kept) and all(f.jpeg[:2] == b"\xff\xd8" for f in kept)
    raw = frames[0].nbytes * len(kept)
    assert ring.bytes < raw / 10  # JPEG: an order of magnitude below raw frames
    small = FrameRing(keep_s=60.0, max_fps=10.0, max_bytes=MIB)
    for i, img in enumerate(frames):
        small.push(img, i / 10, 0.0, i)
    assert small.bytes <= MIB and small.dropped_for_bytes > 0


def test_recorder_cuts_pre_and_post_seconds(tmp_path: Path, frames: list[np.ndarray]) -> None:
    store = ClipStore(ClipStoreConfig(codec="mp4v"), tmp_path / "clips")
    rec = ClipRecorder("hall", ClipsConfig(enabled=True, pre_s=2.0, post_s=3.0), store)
    clip_id = None
    for i, img in enumerate(frames):
        t = i / 10
        rec.push(img, t, 1e9 + t, i)
        if i == 50:
            clip_id = rec.trigger("zone_intrusion", t, 1e9 + t)
        if i == 60:  # a second alarm inside the clip being recorded: the same clip
            assert rec.trigger("zone_intrusion", t, 1e9 + t) == clip_id
    assert rec.trigger("object_enter", 11.0, 1e9) is None  # not a clip kind by default
    info = wait_state(store, clip_id or "")
    assert info.state == "ready", info.error
    assert info.first_t == pytest.approx(3.0) and info.last_t == pytest.approx(8.0)
    assert info.frames == 51 and info.fps == pytest.approx(10.0)
    cap = cv2.VideoCapture(str(tmp_path / "clips" / f"{clip_id}.mp4"))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 51
    store.close()


def make_clip(store: ClipStore, frames: list[np.ndarray], start: int, n: int = 30) -> ClipInfo:
    ring = FrameRing(keep_s=100.0, max_fps=10.0)
    kept = [ring.push(img, i / 10, 1e9 + i / 10, i) for i, img in
            enumerate(frames[start:start + n], start)]
    info = store.open_clip("hall", "zone_intrusion", 1e9 + start / 10, 1.0, 2.0, 2.0)
    store.submit(info, [k for k in kept if k is not None])
    return wait_state(store, info.id)


def test_store_at_its_limit_drops_the_oldest_clip_and_never_the_spool(
        tmp_path: Path, frames: list[np.ndarray]) -> None:
    spool = Spool(tmp_path / "spool.sqlite3", max_events=10_000, max_bytes=4 * MIB)
    for i in range(200):
        assert spool.append(lambda seq, i=i: Draft("t", b"x" * 500, "application/cbor", 1, i))
    depth = spool.stats().depth
    assert depth == 200
    free = [10_000 * MIB]
    store = ClipStore(ClipStoreConfig(max_bytes=MIB, reserve_bytes=MIB, codec="mp4v"),
                      tmp_path / "clips",
                      reserve=lambda: 4 * MIB - spool.stats().bytes + MIB,
                      disk_free=lambda p: free[0])
    first = make_clip(store, frames, 0, 60)
    assert first.state == "ready" and first.bytes > 0, first
    clips = [first]
    while store.counters["deleted_for_room"] == 0:  # fill the store past its budget
        assert len(clips) < 40, "clips never reached the store's budget"
        clips.append(make_clip(store, frames, 30 * (len(clips) % 3), 60))
        assert clips[-1].state == "ready", clips[-1]
    kept = {c["id"] for c in store.recent()}
    assert first.id not in kept and clips[-1].id in kept, "the oldest clip goes first"
    assert store.used_bytes <= MIB and store.counters["deleted_for_room"] >= 1
    assert not (tmp_path / "clips" / f"{first.id}.mp4").exists()
    # The disk gets short: what is left after a clip must stay free for the spool.
    free[0] = 5 * MIB  # the spool may still grow by ~3.9 MiB, plus 1 MiB reserve
    refused = make_clip(store, frames, 90)
    assert refused.state == "failed" and "no room" in (refused.error or "")
    assert store.recent(10)[0]["state"] == "failed"
    assert spool.stats().depth == depth  # the spool lost nothing
    spool.close()
    store.close()


def test_chunks_reassemble_byte_identical_with_digests(tmp_path: Path,
                                                       frames: list[np.ndarray]) -> None:
    store = ClipStore(ClipStoreConfig(codec="mp4v"), tmp_path / "clips")
    info = make_clip(store, frames, 0, 60)
    fetch = clip_command(store)
    first = fetch({"id": info.id})
    assert first["chunks"] >= 2, "pick a clip larger than one chunk"
    data = first["data"] + b"".join(fetch({"id": info.id, "chunk": i})["data"]
                                    for i in range(1, first["chunks"]))
    on_disk = (tmp_path / "clips" / f"{info.id}.mp4").read_bytes()
    assert data == on_disk and hashlib.sha256(data).hexdigest() == first["sha256"]
    assert hashlib.sha256(first["data"]).hexdigest() == first["chunk_sha256"]
    with pytest.raises(ClipError, match="chunk must be"):
        fetch({"id": info.id, "chunk": first["chunks"]})
    with pytest.raises(ClipError, match="letters, digits"):
        fetch({"id": "../../etc/passwd"})
    with pytest.raises(ClipError, match="no clip"):
        fetch({"id": "hall-19700101T000000Z-000000"})
    listing = clips_command(store)({"limit": 5})["clips"]
    assert listing[0]["id"] == info.id and listing[0]["sha256"] == info.sha256
    store.close()
    # A restart finds the clip again from its sidecar.
    again = ClipStore(ClipStoreConfig(codec="mp4v"), tmp_path / "clips")
    assert again.get(info.id).sha256 == info.sha256
    again.close()


def test_pending_clip_says_when_it_will_be_ready_and_old_clips_expire(
        tmp_path: Path, frames: list[np.ndarray]) -> None:
    now = [1_000_000.0]
    store = ClipStore(ClipStoreConfig(codec="mp4v", max_age_s=3600), tmp_path / "clips",
                      clock=lambda: now[0])
    pending = store.open_clip("hall", "zone_intrusion", now[0], 5.0, 5.0, ready_in_s=5.0)
    reply = store.chunk(pending.id)
    assert reply["state"] == "pending" and reply["ready_at"] >= (now[0] + 5.0) * 1000
    assert 5.0 <= reply["ready_in_s"] <= 10.0
    ready = make_clip(store, frames, 0, 10)
    now[0] += 3601
    assert store.expire() == 1
    with pytest.raises(ClipError):
        store.get(ready.id)
    assert store.get(pending.id).state == "pending"  # a clip being recorded is never expired
    store.close()
