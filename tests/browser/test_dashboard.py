#!/usr/bin/python3
"""The dashboard in a real browser: headless Chromium driven by Selenium
(Debian's chromium, chromium-driver and python3-selenium) against `whet serve`
on a tiny model, as a person uses it. A missing browser or driver is a failure.

    test_dashboard.py WHET TINY_MODEL_DIR WORK_DIR SCREENSHOT_DIR

Checks, each against what the server answers directly:
  - the page asks for the API key, then loads with no SEVERE console entry;
  - the playground streams two answers, each equal to the server's own greedy
    answer to the same messages, and its feedback buttons reach /v1/feedback;
  - the jobs page uploads a file and lists it, starts a job whose loss curve
    fills in until it succeeds, and cancels another;
  - a run trained by `whet train` into DATA/runs/ shows a loss curve that grows
    while it trains and survives a reload, ending with every loss row the
    store holds; two runs compare with their differing learning rate;
  - a `whet eval --json-out` report in a run folder is shown with intervals
    and its forgetting verdict;
  - the registry page registers both runs as versions, and its Promote and
    Roll back buttons change what /v1/chat/completions answers for
    models:/NAME@champion: always the answer of the version the alias holds;
  - the jobs page starts a reinforcement (GRPO) job with a grader on a prompts
    file, and lists a `whet data prepare` output folder with its manifest's
    account of every record and its report.html;
  - the human evaluation page creates a session of the tiny model against
    models:/NAME@champion (pinned to its version), shows each item's two
    answers blind (the models' own greedy answers, in either order), takes
    ratings until the rater is done, shows the win rate and Cohen's κ the
    server computes, and exports the preference pairs;
  - `whet watch --once` run beside the server on its data folder promotes a
    challenger: the Loops page shows the cycle as promoted with its evidence,
    and models:/oceans@champion then answers as the challenger learnt to.
Screenshots of each page go to SCREENSHOT_DIR.
"""
import json
import math
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

KEY = "sk-dashboard-test"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def chat_lines(count, thing):
    """Chat examples as the C++ server tests make them: "the sea N" -> "the THING N in the sea"."""
    return "".join(json.dumps({"messages": [{"role": "user", "content": f"the sea {i % 5}"},
                                            {"role": "assistant", "content": f"the {thing} {i % 5} in the sea"}]}) + "\n"
                   for i in range(count))


class Server:
    """`whet serve` on a free port over WORK/data, stopped with SIGINT as a person stops it."""

    def __init__(self, whet, model, data_dir, log_path):
        self.data_dir = data_dir
        self.log = open(log_path, "w")
        self.process = subprocess.Popen(
            [whet, "serve", "--model", model, "--model-name", "tiny", "--port", "0", "--data-dir", data_dir,
             "--api-key", KEY, "--allow-gated", "--threads", "1", "--access-log", "-"],
            stdout=self.log, stderr=subprocess.PIPE, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        deadline = time.time() + 60
        self.url = None
        while time.time() < deadline and self.url is None:
            line = self.process.stderr.readline()
            if not line:
                break
            self.log.write(line)
            match = re.search(r"listening on (http://[\d.]+:\d+)", line)
            if match:
                self.url = match.group(1)
        if self.url is None:
            raise AssertionError(f"whet serve did not start; see {log_path}")
        # Keep draining stderr so the server never blocks on a full pipe.
        self.drain = threading.Thread(target=lambda: [self.log.write(line) for line in self.process.stderr], daemon=True)
        self.drain.start()

    def call(self, path, body=None, method=None):
        request = urllib.request.Request(self.url + path, method=method or ("POST" if body is not None else "GET"),
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read())

    def metric_rows(self, run_id):
        rows, after = [], 0
        while True:
            page = self.call(f"/v1/runs/{run_id}/metrics?after={after}&limit=10000")
            rows += page["data"]
            if not page["has_more"]:
                return rows
            after = rows[-1]["seq"]

    def stop(self):
        self.process.send_signal(2)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.drain.join(timeout=10)
        self.log.close()


class Page:
    def __init__(self, url, screenshots):
        for program in (CHROMIUM, CHROMEDRIVER):
            if not os.access(program, os.X_OK):
                raise AssertionError(f"{program} is missing: scripts/setup.sh installs chromium and chromium-driver")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.url = url
        self.screenshots = screenshots
        self.console = []

    def wait(self, condition, what, timeout=60):
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.2,
                                 ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)).until(
                                     lambda d: condition())
        except Exception as error:
            self.shot(f"failed-{re.sub(r'[^a-z0-9]+', '-', what.lower())[:40]}")
            raise AssertionError(f"timed out after {timeout} s waiting for {what}") from error

    def find(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def all(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def go(self, route):
        self.driver.get(f"{self.url}/#/{route}")

    def shot(self, name):
        os.makedirs(self.screenshots, exist_ok=True)
        self.driver.save_screenshot(os.path.join(self.screenshots, f"{name}.png"))

    def collect_console(self):
        self.console += self.driver.get_log("browser")

    def severe(self):
        self.collect_console()
        return [entry for entry in self.console if entry["level"] == "SEVERE"]

    def quit(self):
        self.driver.quit()


def check_key_and_shell(page):
    page.driver.get(page.url + "/")
    page.wait(lambda: page.find("#key-dialog").get_attribute("open") is not None, "the API key dialog")
    page.find("#key-input").send_keys(KEY)
    page.find("#key-submit").click()
    page.wait(lambda: page.find("#view").get_attribute("data-page") == "runs" and page.all("#view section"),
              "the runs page after the key")
    stored = page.driver.execute_script("return sessionStorage.getItem('whet.apiKey')")
    assert stored == KEY, f"the key is kept in sessionStorage, got {stored!r}"
    print("ok: the page asked for the key and loaded")


def check_smoothing(page):
    """The page's EMA equals TensorBoard's debiased EMA computed here."""
    values = [3.0, 1.0, 4.0, 1.0, 5.0, float("nan"), 9.0, 2.0, 6.0]
    weight = 0.6
    expected, average, count = [], 0.0, 0
    for v in values:
        if v != v:
            expected.append(v)
            continue
        average = average * weight + (1 - weight) * v
        count += 1
        expected.append(average / (1 - weight ** count))
    got = page.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "import('/static/charts.js').then(m => done(m.emaSmooth(arguments[0].map(v => v === null ? NaN : v), arguments[1])"
        ".map(v => Number.isNaN(v) ? null : v)));",
        [None if v != v else v for v in values], weight)
    for e, g in zip(expected, got):
        assert (e != e and g is None) or abs(e - g) < 1e-9, f"smoothing {got} != {expected}"
    print("ok: smoothing is TensorBoard's debiased EMA")


def check_playground(page, server):
    page.go("playground")
    page.wait(lambda: page.all("#model-A option"), "the playground's model lists")
    temperature = page.find("#temperature")
    temperature.clear()
    temperature.send_keys("0")
    tokens = page.find("#max-tokens")
    tokens.clear()
    tokens.send_keys("24")
    page.find("#message").send_keys("the sea 3")
    page.find("#send").click()
    page.wait(lambda: len(page.all(".assistant[data-completion-id]")) == 2, "both streamed answers")
    expected = server.call("/v1/chat/completions", {"model": "tiny", "temperature": 0, "max_tokens": 24,
                                                     "messages": [{"role": "user", "content": "the sea 3"}]})
    want = expected["choices"][0]["message"]["content"]
    for side in ("A", "B"):
        text = page.find(f"#transcript-{side} .assistant .text")
        chunks = int(text.get_attribute("data-chunks"))
        got = page.driver.execute_script("return arguments[0].textContent", text)
        assert got == want, f"side {side} streamed {got!r}, the server answers {want!r}"
        assert chunks >= 2, f"side {side} arrived in {chunks} piece(s), not streamed"
    page.find("#transcript-A .thumbs-up").click()
    page.wait(lambda: "recorded" in page.find("#transcript-A .feedback .note").text, "the thumbs-up note")
    page.find("#prefer-B").click()
    page.wait(lambda: "recorded" in page.find("#verdict").text, "the comparison note")
    feedback = server.call("/v1/feedback")["data"]
    kinds = sorted((f["type"], f.get("rating"), f.get("preferred")) for f in feedback)
    assert kinds == [("comparison", None, 1), ("rating", "up", None)], f"feedback stored: {kinds}"
    page.shot("playground")
    print(f"ok: the playground streamed {want!r} on both sides and posted a rating and a comparison")


def open_job_form(page):
    page.go("jobs")
    page.wait(lambda: page.all("#job-form"), "the jobs page")


def start_job(page, file_id, hyperparameters):
    Select(page.find("#job-training-file")).select_by_value(file_id)
    page.find("#job-hyperparameters").send_keys(json.dumps(hyperparameters))
    page.find("#job-create").click()
    page.wait(lambda: re.search(r"#/jobs/ftjob", page.driver.current_url), "the new job's page")
    return page.driver.current_url.rsplit("/", 1)[1]


def job_status(page):
    spans = page.all("[data-status]")
    return spans[0].get_attribute("data-status") if spans else None


def check_jobs(page, server, work):
    train = os.path.join(work, "dash-train.jsonl")
    with open(train, "w") as f:
        f.write(chat_lines(20, "tin"))
    open_job_form(page)
    page.find("#upload-file").send_keys(train)
    page.find("#upload").click()
    page.wait(lambda: "dash-train.jsonl" in page.find("#files").text, "the uploaded file in the files table")
    file_id = next(f["id"] for f in server.call("/v1/files")["data"] if f["filename"] == "dash-train.jsonl")
    page.shot("jobs")
    print(f"ok: the jobs page uploaded dash-train.jsonl ({file_id}) and lists it")

    job = start_job(page, file_id, {"n_epochs": 4, "learning_rate": 0.01, "sequence_len": 32, "save_steps": 5})
    page.wait(lambda: job_status(page) == "succeeded", "the job to succeed", timeout=120)
    points = int(page.find("#view canvas").get_attribute("data-points"))
    events = [e for e in server.call(f"/v1/fine_tuning/jobs/{job}/events?limit=100")["data"] if e["type"] == "metrics"
              and "train_loss" in e["data"]]
    assert points >= len(events) > 0, f"the loss chart holds {points} points for {len(events)} loss events"
    page.shot("job")
    print(f"ok: job {job} succeeded and its loss chart holds {points} points")

    open_job_form(page)
    long_job = start_job(page, file_id, {"n_epochs": 100, "sequence_len": 32})
    page.wait(lambda: job_status(page) == "running", "the long job to run", timeout=60)
    page.find("#job-cancel").click()
    page.wait(lambda: job_status(page) == "cancelled", "the cancelled job", timeout=60)
    assert server.call(f"/v1/fine_tuning/jobs/{long_job}")["status"] == "cancelled"
    print(f"ok: job {long_job} was cancelled from its page")
    return job


def train(whet, model, data, output, epochs, learning_rate, log):
    """`whet train` of a LoRA adapter on the tiny model, from the command line as a person runs it."""
    return subprocess.Popen([whet, "train", "--model", model, "--data", data, "--output", output, "--method", "lora",
                             "--epochs", str(epochs), "--lr", str(learning_rate), "--seq-len", "32",
                             "--forgetting-gate", "false", "--replay", "none", "--distill", "0", "--threads", "1"],
                            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "OMP_NUM_THREADS": "1"})


def run_named(server, name, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        runs = [r for r in server.call("/v1/runs")["data"] if r["name"] == name]
        if runs:
            return runs[0]
        time.sleep(0.3)
    raise AssertionError(f"run {name} never appeared in /v1/runs")


def loss_points(page):
    charts = page.all("[data-chart='loss'] canvas")
    return int(charts[0].get_attribute("data-points")) if charts else 0


def steps_per_second(run_dir):
    """Training steps a second of a finished run, from its own metrics.jsonl: complete once
    `whet train` has exited, where the server may not have read it all yet."""
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        rows = [json.loads(line) for line in f]
    assert len(rows) >= 2, f"{run_dir} logged {len(rows)} steps"
    return (rows[-1]["step"] - rows[0]["step"]) / max(rows[-1]["elapsed_s"] - rows[0]["elapsed_s"], 1e-3)


def check_runs(page, server, whet, model, work):
    data = os.path.join(work, "cli-train.jsonl")
    with open(data, "w") as f:
        f.write(chat_lines(20, "box"))
    runs_dir = os.path.join(work, "data", "runs")
    log = open(os.path.join(work, "train.log"), "w")
    quick = train(whet, model, data, os.path.join(runs_dir, "quick"), 2, 0.002, log)
    assert quick.wait(timeout=180) == 0, f"whet train failed; see {log.name}"
    quick_run = run_named(server, "quick")
    # The live run must last through a reload wherever it runs: 6000 steps took 40 to 70 s
    # on two shared cores and 9 s on a fast idle one. Its length comes from the quick run's
    # step rate, for about 40 s of training: from 300 to 3000 epochs.
    epochs = min(3000, max(300, math.ceil(40 * steps_per_second(os.path.join(runs_dir, "quick")) / 20)))
    slow = train(whet, model, data, os.path.join(runs_dir, "live"), epochs, 0.01, log)
    run = run_named(server, "live")
    page.go(f"runs/{run['id']}")
    page.wait(lambda: loss_points(page) > 0, "the live run's first loss points")
    first = loss_points(page)
    page.wait(lambda: loss_points(page) > first, "the loss curve to grow while the run trains")
    grown = loss_points(page)
    page.driver.refresh()
    page.wait(lambda: loss_points(page) >= grown, "the curve after a reload")
    after_reload = loss_points(page)
    page.wait(lambda: loss_points(page) > after_reload, "the curve to keep growing after the reload")
    assert slow.poll() is None, "the run finished before its curve could be watched growing: make it longer"
    print(f"ok: the live run's loss curve grew {first} -> {grown} points, and after a reload {after_reload} -> more "
          f"({epochs} epochs)")
    assert slow.wait(timeout=300) == 0, f"whet train failed; see {log.name}"
    page.wait(lambda: page.find("#run-status").text == "finished", "the run's status to become finished")
    rows = [m for m in server.metric_rows(run["id"]) if "loss" in m["name"]]
    page.wait(lambda: loss_points(page) == len(rows), f"the loss chart to hold the store's {len(rows)} loss rows")
    page.shot("run")
    print(f"ok: the finished run's loss chart holds all {len(rows)} loss rows of the store")

    page.go("runs")
    page.wait(lambda: page.all(f"#runs input[value='{quick_run['id']}']"), "both runs in the list")
    page.shot("runs")
    page.find(f"#runs input[value='{run['id']}']").click()
    page.find(f"#runs input[value='{quick_run['id']}']").click()
    page.find("#compare-selected").click()
    page.wait(lambda: "learning_rate" in page.find("#differing-params").text, "the differing learning rate")
    page.wait(lambda: int(page.find("[data-chart='loss'] canvas").get_attribute("data-points")) > 0, "the overlaid loss curves")
    datasets = page.driver.execute_script(
        "return Chart.getChart(document.querySelector(\"[data-chart='loss'] canvas\")).data.datasets"
        ".filter(d => !d.raw).map(d => d.label)")
    assert sorted(datasets) == ["live", "quick"], f"the loss chart overlays {datasets}"
    page.shot("compare")
    print("ok: two runs compare: overlaid loss curves and their differing learning rate")
    return run, quick_run


def js_number(value):
    """A number as the page prints it (ui.js num): four significant digits."""
    rounded = float(f"{value:.4g}")
    return str(int(rounded)) if rounded.is_integer() else repr(rounded)


def check_evaluation(page, server, whet, model, work, run):
    task = os.path.join(work, "task.jsonl")
    with open(task, "w") as f:
        for i in range(12):
            f.write(json.dumps({"messages": [{"role": "user", "content": f"the sea {i % 5}"}], "label": ["box", "tin"][i % 2]}) + "\n")
    report = os.path.join(run["dir"], "eval.json")
    subprocess.run([whet, "eval", "--model", model, "--task", task, "--adapter", f"live={run['dir']}/adapter",
                    "--forgetting", "--resamples", "200", "--json-out", report, "--threads", "1"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "OMP_NUM_THREADS": "1"})
    with open(report) as f:
        accuracy = next(t for t in json.load(f)["tasks"] if t["path"] == task)["results"][0]["metrics"]["accuracy"]
    deadline = time.time() + 30
    while not any(e["path"] == report for e in server.call("/v1/evaluations")["data"]):
        assert time.time() < deadline, f"{report} never appeared in /v1/evaluations"
        time.sleep(0.3)
    page.go("evaluation")
    page.wait(lambda: page.all("#eval-reports table.eval-task"), "the evaluation tables")
    text = page.find("#eval-reports").text
    value, low, high = (js_number(accuracy[k]) for k in ("value", "low", "high"))
    base_row = f"live · base {value} [{low}, {high}]"
    assert base_row in text, f"the base row with its interval, {base_row!r}, is not on the page:\n{text}"
    assert "live · live" in text, "the adapter's row is missing"
    verdict = page.find("#forgetting").text
    assert "live:" in verdict and ("no model forgot" in verdict or "forgetting flagged" in verdict), verdict
    page.shot("evaluation")
    print(f"ok: the evaluation page shows the report's rows with intervals and the verdict: {verdict}")


def greedy(server, model):
    answer = server.call("/v1/chat/completions", {"model": model, "temperature": 0, "max_tokens": 16,
                                                   "messages": [{"role": "user", "content": "the sea 3"}]})
    return answer["choices"][0]["message"]["content"]


def check_registry(page, server, runs):
    page.go("registry")
    page.wait(lambda: page.all("#register-form"), "the registry page")
    for run in runs:
        page.find("#register-name").clear()
        page.find("#register-name").send_keys("support")
        page.find("#register-source").clear()
        page.find("#register-source").send_keys(run["dir"])
        page.find("#register").click()
        version = runs.index(run) + 1
        page.wait(lambda: page.all(f"section[data-model='support'] .promote-button[data-version='{version}']"),
                  f"version {version} on the page")
    by_version = {v: greedy(server, f"models:/support/{v}") for v in (1, 2)}
    assert by_version[1] != by_version[2], f"the two versions answer alike ({by_version}): the test cannot tell them apart"

    def alias_is(version):
        rows = page.all("section[data-model='support'] table.aliases tr")
        return any(r.text.startswith(f"champion {version} ") for r in rows)

    for version in (1, 2):
        page.find(f"section[data-model='support'] .promote-button[data-version='{version}']").click()
        page.wait(lambda: alias_is(version), f"champion to point at version {version}")
        served = greedy(server, "models:/support@champion")
        assert served == by_version[version], f"champion at {version} answers {served!r}, version {version} {by_version[version]!r}"
    page.shot("registry")
    page.find("section[data-model='support'] button.rollback[data-alias='champion']").click()
    page.wait(lambda: alias_is(1), "the roll-back of champion to version 1")
    served = greedy(server, "models:/support@champion")
    assert served == by_version[1], f"after the roll-back champion answers {served!r}, not version 1's {by_version[1]!r}"
    print(f"ok: promoting and rolling back on the registry page changed models:/support@champion's answer "
          f"{by_version[1]!r} -> {by_version[2]!r} -> {by_version[1]!r}")


def write_labelled(path, numbers):
    """"the ocean N is" -> tin, "the desert N is" -> cup: the tiny base guesses, one LoRA run learns it."""
    with open(path, "w") as out:
        for n in numbers:
            out.write(json.dumps({"prompt": f"the ocean {n} is", "label": "tin"}) + "\n")
            out.write(json.dumps({"prompt": f"the desert {n} is", "label": "cup"}) + "\n")


def check_loop(page, server, whet, model, work):
    loop = os.path.join(work, "loop")
    os.makedirs(os.path.join(loop, "incoming"))
    write_labelled(os.path.join(loop, "heldout.jsonl"), range(100, 115))
    write_labelled(os.path.join(loop, "incoming", "batch1.jsonl"), range(16))
    with open(os.path.join(loop, "train.yaml"), "w") as out:
        out.write(f"base_model: {model}\noutput_dir: set-by-the-loop\nmethod: lora\nnum_epochs: 2\n"
                  "learning_rate: 0.01\nreplay_data: none\nmax_perplexity_rise: 100\nthreads: 1\n")
    with open(os.path.join(loop, "loop.yaml"), "w") as out:
        out.write("name: oceans\nincoming: incoming\ntrain: train.yaml\ntask: heldout.jsonl\nmax_bias_rise: 10\n")
    page.go("loops")
    page.wait(lambda: "No loops yet" in page.find("#view").text, "the Loops page before any loop")
    watch = subprocess.run([whet, "watch", os.path.join(loop, "loop.yaml"), "--once", "--data-dir", server.data_dir],
                           capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert watch.returncode == 0, watch.stderr
    page.wait(lambda: page.all("section[data-loop='oceans'] .badge.promoted"), "the promotion on the Loops page", 30)
    row = page.find("section[data-loop='oceans'] table.cycles tbody tr").text
    assert "accuracy" in row and "better than the base model" in row, row
    page.shot("loops")
    for prompt, label in (("the ocean 107 is", " tin"), ("the desert 107 is", " cup")):
        answer = server.call("/v1/completions", {"model": "models:/oceans@champion", "prompt": prompt,
                                                  "max_tokens": 4, "temperature": 0})["choices"][0]["text"]
        assert answer.startswith(label), f"models:/oceans@champion answers {prompt!r} with {answer!r}, not {label!r}"
    print("ok: whet watch promoted a challenger; the Loops page shows it and models:/oceans@champion serves it")


def check_grpo_job(page, server, work):
    prompts = os.path.join(work, "prompts.jsonl")
    with open(prompts, "w") as f:
        for i in range(4):
            f.write(json.dumps({"messages": [{"role": "user", "content": f"the sea {i}"}], "answer": f"the tin {i}"}) + "\n")
    open_job_form(page)
    page.find("#upload-file").send_keys(prompts)
    page.find("#upload").click()
    page.wait(lambda: "prompts.jsonl" in page.find("#files").text, "the uploaded prompts file")
    file_id = next(f["id"] for f in server.call("/v1/files")["data"] if f["filename"] == "prompts.jsonl")
    assert not page.find("#job-grader").is_displayed(), "the grader field shows for a supervised job"
    Select(page.find("#job-method")).select_by_value("reinforcement")
    page.wait(lambda: page.find("#job-grader").is_displayed(), "the grader field for a reinforcement job")
    grader = {"type": "text_similarity", "name": "close", "input": "{{sample.output_text}}",
              "reference": "{{item.answer}}", "evaluation_metric": "fuzzy_match"}
    page.find("#job-grader").send_keys(json.dumps(grader))
    job = start_job(page, file_id, {"max_steps": 2, "num_generations": 2, "max_completion_length": 8, "sequence_len": 64})
    page.wait(lambda: job_status(page) in ("succeeded", "failed"), "the reinforcement job to end", timeout=180)
    stored = server.call(f"/v1/fine_tuning/jobs/{job}")
    assert stored["status"] == "succeeded", f"the reinforcement job failed: {stored.get('error')}"
    assert stored["method"]["type"] == "reinforcement" and stored["method"]["reinforcement"]["grader"] == grader, stored["method"]
    assert "text_similarity" in page.find("#view table.facts").text, "the job page shows its grader"
    print(f"ok: a reinforcement (GRPO) job {job} with the page's grader trained on prompts.jsonl")


def check_pipelines(page, server, whet, work):
    raw = os.path.join(work, "data", "raw")
    os.makedirs(raw, exist_ok=True)
    with open(os.path.join(raw, "tickets.jsonl"), "w") as f:
        for line in ({"prompt": "Refund for order 1?", "completion": "Yes, within 30 days."},
                     {"prompt": "Where is order 2?", "completion": "It ships tomorrow."},
                     {"prompt": "Refund for order 1?", "completion": "Yes, within 30 days."},
                     {"prompt": "Cancel order 3", "completion": "Cancelled."}):
            f.write(json.dumps(line) + "\n")
    with open(os.path.join(raw, "p.yaml"), "w") as f:
        f.write("output_dir: ../prepared/tickets\nsources:\n  - path: tickets.jsonl\n")
    subprocess.run([whet, "data", "prepare", os.path.join(raw, "p.yaml")], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    listed = server.call("/v1/data/pipelines")["data"]
    assert [p["path"] for p in listed] == ["prepared/tickets"], listed
    account = server.call("/v1/data/pipelines/manifest?path=prepared/tickets")["trace"]
    open_job_form(page)
    row = "#pipelines tr[data-path='prepared/tickets']"
    page.wait(lambda: page.all(row), "the pipeline folder on the jobs page")
    page.find(f"{row} button.open-manifest").click()
    page.wait(lambda: page.all("#pipeline-fates"), "the account of every record")
    fates = page.find("#pipeline-fates").text
    for fate, count in account["fates"].items():
        assert f"{fate} {count}" in fates, f"fate {fate} {count} not in {fates!r}"
    page.driver.execute_script("arguments[0].scrollIntoView()", page.find("#pipelines"))
    page.shot("jobs-pipeline")
    page.find(f"{row} button.open-report").click()
    page.wait(lambda: page.all("#pipeline-report"), "the report.html frame")
    with open(os.path.join(work, "data", "prepared", "tickets", "report.html")) as f:
        report = f.read()
    shown = page.find("#pipeline-report").get_attribute("srcdoc")
    assert shown == report, "the frame does not hold report.html as written"
    page.driver.switch_to.frame(page.find("#pipeline-report"))
    frame_text = page.driver.find_element(By.TAG_NAME, "body").text
    page.driver.switch_to.default_content()
    assert "dedup" in frame_text, f"the report's stage table is not shown: {frame_text[:300]!r}"
    print(f"ok: the jobs page lists prepared/tickets, its records' fates {account['fates']} and its report.html")

    # A job on an upload of the pipeline's train.jsonl names the pipeline on its page.
    with open(os.path.join(work, "data", "prepared", "tickets", "train.jsonl"), "rb") as f:
        content = f.read()
    boundary = "whet-test-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"tickets.jsonl\"\r\n"
            f"Content-Type: application/jsonl\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(f"{server.url}/v1/files", data=body, method="POST", headers={
        "Authorization": f"Bearer {KEY}", "Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        file_id = json.loads(response.read())["id"]
    job = server.call("/v1/fine_tuning/jobs", {"model": "tiny", "training_file": file_id,
                                               "hyperparameters": {"max_steps": 1, "sequence_len": 32}})
    page.go(f"jobs/{job['id']}")
    page.wait(lambda: page.all("#view #pipelines tr[data-path='prepared/tickets']"), "the pipeline that wrote the job's training file")
    other = next(j for j in server.call("/v1/fine_tuning/jobs")["data"] if j["method"]["type"] == "reinforcement")
    page.go(f"jobs/{other['id']}")
    page.wait(lambda: page.all("[data-status]"), "the reinforcement job's page")
    time.sleep(1.5)  # the pipeline look-up follows the job's first refresh
    assert not page.all("#view #pipelines"), "a job on a file no pipeline wrote names a pipeline"
    print(f"ok: job {job['id']} on an upload of prepared/tickets/train.jsonl names that pipeline on its page; "
          f"a job on another file names none")


def check_human_eval(page, server, work):
    tasks = os.path.join(work, "data", "tasks")
    os.makedirs(tasks, exist_ok=True)
    prompts = [f"the sea {i}" for i in range(3)]
    with open(os.path.join(tasks, "he.jsonl"), "w") as f:
        for p in prompts:
            f.write(json.dumps({"messages": [{"role": "user", "content": p}], "answer": "x"}) + "\n")
    page.go("human-eval")
    page.wait(lambda: page.all("#he-form input.he-model[value='models:/support@champion']"), "the human evaluation form")
    page.find("#he-task").send_keys("tasks/he.jsonl")
    page.find("#he-max-tokens").send_keys("12")
    page.find("#he-form input.he-model[value='tiny']").click()
    page.find("#he-form input.he-model[value='models:/support@champion']").click()
    page.find("#he-create").click()
    page.wait(lambda: re.search(r"#/human-eval/heval-", page.driver.current_url), "the new session's page")
    session_id = page.driver.current_url.rsplit("/", 1)[1]
    page.wait(lambda: page.all("#he-status[data-status='ready']"), "the session's answers", timeout=120)
    session = server.call(f"/v1/human_eval/sessions/{session_id}")
    assert session["models"] == ["tiny", "models:/support/1"], f"the alias is pinned to its version: {session['models']}"
    expected = {}
    for p in prompts:
        for model in session["models"]:
            answer = server.call("/v1/chat/completions", {"model": model, "temperature": 0, "max_tokens": 12,
                                                         "messages": [{"role": "user", "content": p}]})
            expected.setdefault(p, set()).add(answer["choices"][0]["message"]["content"])
        assert len(expected[p]) == 2, f"both models answer {p!r} alike: the test cannot tell them apart"
    rater = page.find("#he-rater")
    rater.clear()
    rater.send_keys("ann")
    page.find("#he-start").click()
    for n in range(1, len(prompts) + 1):
        page.wait(lambda: page.all("#he-position") and page.find("#he-position").text.startswith(f"Item {n} of"), f"item {n}")
        prompt = page.find("#he-item .transcript .user").text
        shown = {page.driver.execute_script("return arguments[0].textContent", e)
                 for e in page.all("#he-item .answer .text")}
        assert shown == expected[prompt], f"item {n} shows {shown}, the models answer {expected[prompt]}"
        for model in ("tiny", "support"):
            assert model not in page.find("#view").text.split("Results")[0], f"the page names {model} before the results"
        if n == 1:
            page.find("#he-comment").send_keys("A reads better")
            page.shot("human-eval")
        page.find("#he-choice-A" if n < 3 else "#he-choice-tie").click()
    page.wait(lambda: page.all("#he-done"), "the end of ann's items")
    # A second rater through the API, so that there is an agreement to show.
    while True:
        item = server.call(f"/v1/human_eval/sessions/{session_id}/next?rater=bob")
        if item["done"]:
            break
        server.call(f"/v1/human_eval/sessions/{session_id}/ratings", {"item_id": item["item_id"], "rater": "bob", "choice": "A"})
    results = server.call(f"/v1/human_eval/sessions/{session_id}/results")
    page.driver.refresh()
    page.wait(lambda: page.all("#he-results-details summary"), "the results")
    page.find("#he-results-details summary").click()
    page.wait(lambda: page.all("#he-pairs") and "ann and bob" in page.find("#he-agreement").text, "the results with both raters")
    pair = results["pairs"][0]
    pairs_text = page.find("#he-pairs").text
    assert f"{js_number(pair['win_rate'])} [{js_number(pair['interval'][0])}, {js_number(pair['interval'][1])}]" in pairs_text, \
        f"the win rate {pair['win_rate']} {pair['interval']} is not in {pairs_text!r}"
    kappa = results["agreement"]["pairs"][0]["kappa"]
    assert kappa is None or js_number(kappa) in page.find("#he-agreement").text, (kappa, page.find("#he-agreement").text)
    page.find("#he-export").click()
    page.wait(lambda: "preference pairs" in page.find("#he-export-note").text, "the export")
    request = urllib.request.Request(f"{server.url}/v1/human_eval/sessions/{session_id}/export",
                                     headers={"Authorization": f"Bearer {KEY}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        pairs = [json.loads(line) for line in response.read().decode().splitlines()]
    assert page.find("#he-export-note").text.startswith(f"{len(pairs)} preference pairs"), page.find("#he-export-note").text
    assert len(pairs) == 5, f"ann's 2 A/B ratings (her third is a tie) and bob's 3 make 5 pairs, not {len(pairs)}"
    page.shot("human-eval-results")
    print(f"ok: human evaluation {session_id}: 3 items rated blind on the page, win rate {pair['win_rate']:.3f} "
          f"{pair['interval']}, kappa {kappa}, {len(pairs)} preference pairs exported")


def main():
    whet, model, work, screenshots = (os.path.abspath(a) for a in sys.argv[1:5])
    started = time.time()
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(screenshots, ignore_errors=True)
    os.makedirs(work)
    server = Server(whet, model, os.path.join(work, "data"), os.path.join(work, "server.log"))
    page = None
    try:
        page = Page(server.url, screenshots)
        check_key_and_shell(page)
        check_smoothing(page)
        check_playground(page, server)
        check_jobs(page, server, work)
        run, quick_run = check_runs(page, server, whet, model, work)
        check_evaluation(page, server, whet, model, work, run)
        check_registry(page, server, [run, quick_run])
        check_human_eval(page, server, work)
        check_grpo_job(page, server, work)
        check_pipelines(page, server, whet, work)
        check_loop(page, server, whet, model, work)
        for route in ("monitoring",):
            page.go(route)
            page.wait(lambda: page.all("#view section, #view .error"), f"the {route} page")
            time.sleep(0.5)
            page.shot(route)
        severe = page.severe()
        assert not severe, "console errors:\n" + "\n".join(e["message"] for e in severe)
        print(f"ok: no SEVERE console entries in {len(page.console)}")
    finally:
        if page:
            page.quit()
        server.stop()
    print(f"test_dashboard: passed in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
