"""The gateway page in a real headless browser (Debian's chromium + chromedriver, via selenium).

A real gateway runs the sample video (one-by-one-person-detection.mp4, paced like a camera and
looped) against a real mosquitto. The technician logs in, sees the live view, draws a zone on
it, saves it, and sees the intrusion event the new zone causes, on the page and on the broker,
with the new config hash in the retained state. Screenshots go to ``$EDGEPOST_SCREENSHOTS`` or
the test's tmp dir.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.broker import LocalMosquitto
from tests.browser import chrome, fill_login, needs_chromium, screenshot_dir
from tests.conftest import Collector
from tests.web.helpers import PASSWORD, gateway_toml, running

pytestmark = needs_chromium
# Corners clicked on the live view, as fractions of its size: most of the floor where people walk.
ZONE = [(0.05, 0.1), (0.95, 0.1), (0.95, 0.98), (0.05, 0.98)]


@pytest.fixture
def browser():  # type: ignore[no-untyped-def]
    with chrome(1280, 1000) as driver:
        yield driver


@pytest.mark.timeout(240)
def test_technician_draws_a_zone_and_sees_the_intrusion(
        broker: LocalMosquitto, tmp_path: Path, browser) -> None:  # type: ignore[no-untyped-def]
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.vision.conftest import PERSON_VIDEO, SSD_LABELS, SSD_MODEL, shared_dir

    shots = screenshot_dir(tmp_path)
    shared = shared_dir()
    cam = {"source": {"uri": str(shared / PERSON_VIDEO), "pacing": "realtime", "loop": True},
           "detector": {"model": str(shared / SSD_MODEL), "labels": str(shared / SSD_LABELS),
                        "min_score": 0.5},
           "schedule": {"motion_interval_s": 1.0},
           "rules": {"classes": ["person"]},
           "crops": {"enabled": True}}
    path = gateway_toml(tmp_path, broker.port, cameras={"hall": cam})
    sub = Collector(broker.port, include_status=True).start()
    try:
        with running(path) as (service, base):
            wait = WebDriverWait(browser, 30, ignored_exceptions=(StaleElementReferenceException,))
            browser.get(base + "/")
            fill_login(browser, wait, "tech", PASSWORD)
            browser.save_screenshot(str(shots / "1-login.png"))
            browser.find_element(By.ID, "login-submit").click()

            # live view: frames arrive and the canvas takes their size
            wait.until(lambda d: int(d.find_element(By.ID, "live-img").get_attribute("data-loaded")
                                     or 0) >= 2)
            canvas = browser.find_element(By.ID, "editor")
            assert int(canvas.get_attribute("width")) > 100
            wait.until(lambda d: "fps" in d.find_element(By.ID, "camera-fps").text)
            wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#health-table [data-key=uplink] td")
                       .text == "connected")
            old_hash = browser.find_element(By.ID, "config-hash").text
            assert old_hash == service.config_hash
            browser.save_screenshot(str(shots / "2-live-view.png"))

            # draw the zone: four corners on the live view, then Finish
            browser.find_element(By.ID, "shape-name").send_keys("floor")
            browser.find_element(By.ID, "new-zone").click()
            w, h = canvas.size["width"], canvas.size["height"]
            for fx, fy in ZONE:  # selenium 4 offsets are from the element's centre
                ActionChains(browser).move_to_element_with_offset(
                    canvas, int((fx - 0.5) * w), int((fy - 0.5) * h)).click().perform()
            coords = browser.find_element(By.ID, "coords").text
            assert coords.startswith("zone floor: [[0.05"), coords
            browser.find_element(By.ID, "finish-shape").click()
            assert [li.get_attribute("data-name") for li in
                    browser.find_elements(By.CSS_SELECTOR, "#shapes li")] == ["floor"]
            browser.save_screenshot(str(shots / "3-zone-drawn.png"))

            browser.find_element(By.ID, "save-rules").click()
            wait.until(lambda d: d.find_element(By.ID, "save-status").get_attribute("data-hash"))
            new_hash = browser.find_element(By.ID, "save-status").get_attribute("data-hash")
            assert new_hash != old_hash and new_hash == service.config_hash
            assert browser.find_element(By.ID, "save-error").text == ""
            zones = service.config.cameras["hall"].rules.zones
            assert [z.name for z in zones] == ["floor"] and zones[0].intrusion
            assert abs(zones[0].polygon[0][0] - 0.05) < 0.01 and abs(zones[0].polygon[2][1] - 0.98) < 0.01
            assert (tmp_path / "edgepost.zones.toml").is_file()
            assert sub.wait_for(lambda c: any(m.document.get("config_hash") == new_hash
                                              for m in c.of_kind("state")), 10)
            browser.save_screenshot(str(shots / "4-zone-saved.png"))

            # a person walks into the new zone: intrusion on the page, with its crop, and on MQTT
            try:
                WebDriverWait(browser, 150, poll_frequency=1).until(lambda d: d.find_elements(
                    By.CSS_SELECTOR, "#event-list .event[data-type=zone_intrusion]"))
            except Exception:
                browser.save_screenshot(str(shots / "5-no-intrusion.png"))
                raise AssertionError(
                    "no intrusion on the page; gateway saw "
                    f"{[e['type'] for e in service.recent.events(20)]}, camera health "
                    f"{service.health.report(0)['cameras']['hall']}") from None
            item = browser.find_element(By.CSS_SELECTOR, "#event-list .event[data-type=zone_intrusion]")
            assert "floor" in item.text and "person" in item.text
            wait.until(lambda d: d.execute_script(
                "const i = document.querySelector('#event-list .event[data-type=zone_intrusion] img');"
                "return i && i.complete && i.naturalWidth > 0;"))
            browser.execute_script("arguments[0].scrollIntoView()", item)
            browser.save_screenshot(str(shots / "5-intrusion.png"))
            assert sub.wait_for(lambda c: any(
                m.event.type.label == "zone_intrusion" and m.event.body.zone == "floor"
                for m in c.events), 20)
    finally:
        sub.stop()
