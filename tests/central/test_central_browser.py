"""The web UI in a real headless browser (Debian's chromium + chromedriver, driven by selenium).

A real ``edgepost central run`` process ingests from a real mosquitto; the test logs in, sees
the fleet, sees an alarm arrive, acknowledges it, sees an unacknowledged one escalate (page
highlight and MQTT notice), searches a plate and checks its trajectory across three
checkpoints in time order, sees the sensor node in the fleet and the events per grid cell,
and sends a command whose reply appears beside it. Screenshots go to ``$EDGEPOST_SCREENSHOTS``
or the test's tmp dir.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from tests_central_helpers import REPO, CentralProc

from gateway.broker import LocalMosquitto
from gateway.events import (
    Direction,
    Event,
    Format,
    Location,
    Topics,
    VehiclePassage,
    ZoneIntrusion,
    dump_document,
    encode,
)
from gateway.events.bodies import NodeStatus
from tests.browser import chrome, fill_login, needs_chromium, screenshot_dir

pytestmark = needs_chromium


def jpeg() -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (96, 64), (40, 60, 90))
    ImageDraw.Draw(img).rectangle((30, 10, 60, 60), fill=(230, 200, 40))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=70)
    return out.getvalue()


@pytest.fixture
def browser():  # type: ignore[no-untyped-def]
    with chrome(1280, 900) as driver:
        yield driver


@pytest.mark.timeout(180)
def test_operator_sees_fleet_alarm_ack_escalation_and_trajectory(
        broker: LocalMosquitto, tmp_path: Path, browser) -> None:  # type: ignore[no-untyped-def]
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    shots = screenshot_dir(tmp_path)
    db = f"sqlite:///{tmp_path / 'central.sqlite3'}"
    cfg = tmp_path / "central.toml"
    cfg.write_text(f"""
[broker]
port = {broker.port}
[database]
url = "{db}"
[alarms]
ack_within_s = 5
[grid]
cells_file = "{tmp_path / 'cells.geojson'}"
[web]
secret_file = "{tmp_path / 'secret.key'}"
""")
    cell = [[119.99, 29.99], [120.06, 29.99], [120.06, 30.03], [119.99, 30.03], [119.99, 29.99]]
    (tmp_path / "cells.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "cell-north-gate"},
         "geometry": {"type": "Polygon", "coordinates": [cell]}}]}))
    made = subprocess.run([sys.executable, "-m", "gateway.cli.main", "central", "user", "add", "anna",
                           "--role", "operator", "--password-stdin", "-c", str(cfg)],
                          input="correct horse battery\n", text=True, capture_output=True, cwd=REPO)
    assert made.returncode == 0, made.stderr
    central = CentralProc(cfg, "central-ui", tmp_path / "central.log").start()
    central.wait_subscribed()

    notices: list[dict[str, object]] = []
    got_notice = threading.Event()
    listener = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)

    def on_notice(c: mqtt.Client, u: object, msg: mqtt.MQTTMessage) -> None:
        if msg.topic == Topics("cp-1").cmd("ping"):  # cp-1 answers commands as a gateway does
            reply = Properties(PacketTypes.PUBLISH)
            reply.CorrelationData = msg.properties.CorrelationData
            c.publish(Topics("cp-1").reply("ping"), dump_document({"ok": True, "pong": True}, Format.CBOR),
                      qos=1, properties=reply)
            return
        notices.append(json.loads(msg.payload))
        got_notice.set()

    listener.on_message = on_notice
    listener.connect("127.0.0.1", broker.port)
    listener.subscribe([("edgepost/central/escalation", 1), (Topics("cp-1").cmd_filter, 1)])
    listener.loop_start()

    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-district", protocol=mqtt.MQTTv5)
    pub.connect("127.0.0.1", broker.port)
    pub.loop_start()
    props = Properties(PacketTypes.PUBLISH)
    props.ContentType = Format.CBOR.content_type
    checkpoints = {"cp-1": Location(30.00, 120.00), "cp-2": Location(30.02, 120.05),
                   "cp-3": Location(30.05, 120.09)}
    now = time.time_ns() // 1_000_000
    try:
        for n, dev in enumerate(checkpoints):
            t = Topics(dev)
            state = {"online": True, "ts": now, "boot_ts": now, "versions": {"edgepost": "0.1.0"},
                     "config_hash": f"{n:016x}"}
            pub.publish(t.state, dump_document(state, Format.CBOR), qos=1, retain=True, properties=props)
            health = {"ts": now, "spool": {"depth": n, "dropped": 0}}
            pub.publish(t.health, dump_document(health, Format.CBOR), qos=0, properties=props)
        # the same plate at three checkpoints, published out of order
        for seq, (dev, minutes) in enumerate((("cp-3", 2), ("cp-1", 0), ("cp-2", 1)), start=1):
            body = VehiclePassage(plate="浙A77777", direction=Direction.INBOUND, vehicle_class="car")
            ev = Event.new(body, loc=checkpoints[dev],
                           ts_ms=now - 600_000 + minutes * 60_000).with_seq(seq)
            pub.publish(Topics(dev).event(ev.type), encode(ev), qos=1, properties=props).wait_for_publish(5)
        status = Event.new(NodeStatus(node="pir-7", fw_version="1.4.0", interval_s=300),
                           loc=checkpoints["cp-1"]).with_seq(5)
        pub.publish(Topics("cp-1").event(status.type), encode(status), qos=1,
                    properties=props).wait_for_publish(5)

        # The page re-renders its lists as data arrives: an element found a moment ago may be
        # replaced before it is read, so a wait retries on a stale element too.
        wait = WebDriverWait(browser, 20, ignored_exceptions=(StaleElementReferenceException,))
        base = f"http://127.0.0.1:{central.port}"
        browser.get(base + "/fleet")
        fill_login(browser, wait, "anna", "correct horse battery")
        browser.find_element(By.ID, "login-submit").click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#fleet-table tbody tr")) == 3)
        rows = browser.find_elements(By.CSS_SELECTOR, "#fleet-table tbody tr")
        assert [r.get_attribute("data-device") for r in rows] == ["cp-1", "cp-2", "cp-3"]
        assert all("online" in r.text for r in rows)
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#nodes-table tbody tr")) == 1)
        node = browser.find_element(By.CSS_SELECTOR, "#nodes-table tbody tr")
        assert node.get_attribute("data-node") == "cp-1/pir-7" and "1.4.0" in node.text
        browser.save_screenshot(str(shots / "1-fleet.png"))

        browser.get(base + "/alarms")
        intrusion = Event.new(ZoneIntrusion(zone="shore", cls="person", track_id=7, crop=jpeg()),
                              loc=checkpoints["cp-2"]).with_seq(4)
        pub.publish(Topics("cp-2").event(intrusion.type), encode(intrusion), qos=1,
                    properties=props).wait_for_publish(5)
        box = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".alarm .ack")))
        assert "person in zone shore" in browser.find_element(By.CSS_SELECTOR, ".alarm").text
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, ".alarm img").get_property("naturalWidth") == 96)
        timer = browser.find_element(By.CSS_SELECTOR, ".alarm .timer").text
        assert timer.startswith("0:0"), f"the one-minute timer shows {timer!r}"
        browser.save_screenshot(str(shots / "2-alarm-arrived.png"))
        box.click()
        wait.until(lambda d: "acknowledged by anna" in d.find_element(By.CSS_SELECTOR, ".alarm").text)
        browser.save_screenshot(str(shots / "3-alarm-acknowledged.png"))

        # a second alarm nobody acknowledges escalates after ack_within_s (5 s here)
        late = Event.new(ZoneIntrusion(zone="dam", cls="person", track_id=8),
                         loc=checkpoints["cp-3"]).with_seq(4)
        pub.publish(Topics("cp-3").event(late.type), encode(late), qos=1,
                    properties=props).wait_for_publish(5)
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".alarm.escalated")) == 1)
        assert got_notice.wait(10), "no escalation notice over MQTT"
        assert notices[0]["alarm"]["summary"] == "person in zone dam"  # type: ignore[index]
        browser.save_screenshot(str(shots / "4-alarm-escalated.png"))

        browser.get(base + "/plates")
        wait.until(ec.presence_of_element_located((By.ID, "plate-q"))).send_keys("浙A777*")
        browser.find_element(By.ID, "plate-search").click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#plate-results tbody tr")) == 3)
        browser.find_element(By.CSS_SELECTOR, "#plate-results .traj").click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#trajectory li")) == 3)
        points = browser.find_elements(By.CSS_SELECTOR, "#trajectory li")
        order = [li.get_attribute("data-device") for li in points]
        assert order == ["cp-1", "cp-2", "cp-3"], f"trajectory out of order: {order}"
        browser.save_screenshot(str(shots / "5-trajectory.png"))

        browser.get(base + "/counts")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#cells-table tbody tr"))
        cell_row = browser.find_element(By.CSS_SELECTOR, "#cells-table tbody tr")
        # cp-1 and cp-2 lie in the cell (passages, the node status, the intrusion); cp-3 doesn't
        assert cell_row.get_attribute("data-cell") == "cell-north-gate"
        assert "vehicle_passage 2" in cell_row.text, cell_row.text
        browser.save_screenshot(str(shots / "6-cells.png"))

        browser.get(base + "/commands")
        wait.until(ec.presence_of_element_located((By.ID, "cmd-device"))).send_keys("cp-1")
        browser.find_element(By.ID, "cmd-name").send_keys("ping")
        browser.find_element(By.ID, "cmd-send").click()
        wait.until(lambda d: "pong" in d.find_element(By.CSS_SELECTOR, "#cmd-table tbody tr .reply").text)
        assert "anna" in browser.find_element(By.CSS_SELECTOR, "#cmd-table tbody tr").text
        browser.save_screenshot(str(shots / "7-command-reply.png"))
        for name in ("1-fleet", "2-alarm-arrived", "3-alarm-acknowledged", "4-alarm-escalated",
                     "5-trajectory", "6-cells", "7-command-reply"):
            assert (shots / f"{name}.png").stat().st_size > 5000
    finally:
        pub.disconnect()
        pub.loop_stop()
        listener.disconnect()
        listener.loop_stop()
        central.stop()
