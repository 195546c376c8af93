#!/usr/bin/env python3
"""Browser test of the dashboard: headless Chromium loads it while a drill runs.

Starts `tocsin run` (HTTP on a free port, one operator), replays a short drill against it with
`tocsin drill --connect`, opens the dashboard in headless Chromium (selenium + chromedriver, Debian packages
chromium, chromium-driver, python3-selenium, python3-zmq), and checks that:
  - the exercise banner shows and warning rows appear, with the map's incident circles;
  - an acknowledgement clicked in the page reaches the dispatch worker (the audit trail over the command
    endpoint names the operator) and stops the warning's escalation;
  - a task step clicked in the page reaches the feed (a ZeroMQ subscriber sees the task's new state).
Saves screenshots under the output folder (default out/test-browser/). Exits non-zero on any failure.
"""
import argparse, json, os, socket, subprocess, sys, tempfile, time, urllib.request

import zmq
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOKEN = "browser-token-0123456789abcdef"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, condition, timeout=60, interval=0.25):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = condition()
            if last:
                return last
        except Exception as e:  # the page re-renders; a stale element is retried
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def command(endpoint, request):
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RCVTIMEO, 5000)
    s.connect(endpoint)
    s.send(json.dumps(request).encode())
    reply = json.loads(s.recv())
    s.close()
    return reply


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tocsin", default=os.path.join(ROOT, ".build/debug/tocsin"))
    ap.add_argument("--scenario", default=os.path.join(ROOT, "Scenarios/highrise-fire.yaml"))
    ap.add_argument("--out", default=os.path.join(ROOT, "out/test-browser"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="tocsin-browser-")
    ports = [free_port() for _ in range(4)]
    endpoints = {"ingest": f"tcp://127.0.0.1:{ports[0]}", "feed": f"tcp://127.0.0.1:{ports[1]}",
                 "command": f"tcp://127.0.0.1:{ports[2]}"}
    http = f"http://127.0.0.1:{ports[3]}"
    config = os.path.join(work, "tocsin.yaml")
    with open(config, "w") as f:
        f.write(f"""endpoints:
  ingest: {endpoints['ingest']}
  feed: {endpoints['feed']}
  command: {endpoints['command']}
data: {work}/data
durability: normal
areas: {ROOT}/Config/areas.yaml
catalog: {ROOT}/Config/catalog.yaml
plans: {ROOT}/Config/plans
http:
  listen: 127.0.0.1:{ports[3]}
  operators:
    - {{name: browser-duty, token: {TOKEN}, area: sz}}
""")
    server_log = open(os.path.join(args.out, "tocsin-run.log"), "w")
    server = subprocess.Popen([args.tocsin, "run", "--config", config], stdout=server_log, stderr=subprocess.STDOUT)
    driver = None
    drill = None
    try:
        wait_for("/readyz", lambda: urllib.request.urlopen(http + "/readyz", timeout=2).status == 200, timeout=30)
        # A subscriber on the exercise tasks, before anything happens: the page's step must show up here.
        ctx = zmq.Context.instance()
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.SUBSCRIBE, b"exercise/task/")
        sub.connect(endpoints["feed"])

        # The drill runs against the live pipeline (real time x30) while the page is open; it is stopped at the end.
        drill_log = open(os.path.join(args.out, "drill.log"), "w")
        drill = subprocess.Popen([args.tocsin, "drill", args.scenario, "--connect", "--config", config, "--speed", "30",
                                  "--no-colour"], stdout=drill_log, stderr=subprocess.STDOUT)

        options = Options()
        for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1600,1000"]:
            options.add_argument(a)
        options.binary_location = "/usr/bin/chromium"
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        driver.set_page_load_timeout(30)
        driver.get(f"{http}/?status=exercise#token={TOKEN}")

        rows = wait_for("warning rows", lambda: driver.find_elements(By.CSS_SELECTOR, "#warnings tbody tr"))
        banner = driver.find_element(By.ID, "banner")
        assert banner.is_displayed() and "EXERCISE" in banner.text, "exercise banner not shown"
        assert "browser-duty" in driver.find_element(By.ID, "who").text
        circles = driver.find_elements(By.CSS_SELECTOR, "#incidents circle.incident")
        assert len(circles) == len(rows), f"{len(circles)} circles on the map for {len(rows)} warnings"
        districts = driver.find_elements(By.CSS_SELECTOR, "#map polygon.district")
        assert len(districts) >= 10, f"map has {len(districts)} districts"
        print(f"{len(rows)} warning rows, {len(circles)} incident circles")
        driver.save_screenshot(os.path.join(args.out, "dashboard.png"))

        # Acknowledge the first unacknowledged warning in the page.
        button = wait_for("an Acknowledge button", lambda: driver.find_elements(By.CSS_SELECTOR, "#warnings button.ack"))[0]
        warning_id = button.get_attribute("data-warning")
        button.click()
        wait_for("the page to confirm", lambda: "Acknowledged " + warning_id in driver.find_element(By.ID, "message").text)
        audit = command(endpoints["command"], {"op": "audit"})
        acks = [e for e in audit["entries"] if e["action"] == "ack" and e["target"] == warning_id]
        assert acks and acks[-1]["operator"] == "browser-duty" and acks[-1]["outcome"] == "ok", f"audit: {acks}"
        wait_for("the row to show the acknowledgement",
                 lambda: "acked by browser-duty" in driver.find_element(By.CSS_SELECTOR, f'tr[data-warning="{warning_id}"]').text)
        print(f"acknowledged {warning_id} in the page; audit: {acks[-1]['at']} by {acks[-1]['operator']}")

        # Mark a step done in the page; its new state must reach a feed subscriber.
        step = wait_for("a Done button", lambda: driver.find_elements(By.CSS_SELECTOR, "#tasks button.step[data-state=done]"))[0]
        task_id = step.get_attribute("data-task")
        step.click()
        wait_for("the page to confirm the step", lambda: f"Step {task_id}: done" in driver.find_element(By.ID, "message").text)

        def task_done_on_feed():
            while sub.poll(100):
                topic, body = sub.recv_multipart()
                msg = json.loads(body)
                if msg["id"] == task_id and msg["state"] == "done":
                    return msg
            return None
        done = wait_for("the step on the feed", task_done_on_feed, timeout=20)
        print(f"step {task_id} done in the page reached the feed as seq {done['seq']}")
        wait_for("the task to leave the board",
                 lambda: not driver.find_elements(By.CSS_SELECTOR, f'#tasks tr[data-task="{task_id}"]'), timeout=20)
        driver.save_screenshot(os.path.join(args.out, "dashboard-after.png"))
        print("browser test passed; screenshots in", args.out)
        return 0
    except Exception as e:
        if driver:
            driver.save_screenshot(os.path.join(args.out, "dashboard-failure.png"))
            with open(os.path.join(args.out, "page.html"), "w") as f:
                f.write(driver.page_source)
        print("browser test FAILED:", e, file=sys.stderr)
        return 1
    finally:
        if driver:
            driver.quit()
        if drill and drill.poll() is None:
            drill.terminate()
            drill.wait(timeout=10)
        server.terminate()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    sys.exit(main())
