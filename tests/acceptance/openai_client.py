"""Acceptance of `whet serve` against the official `openai` Python client, on the real model.

1. A streamed chat completion on the base model.
2. Upload a training file, create a fine-tuning job, poll it; once the job has a
   checkpoint the server is killed (SIGKILL) and restarted on the same data
   folder, and the job still finishes.
3. Chat with the fine-tuned model and get the fine-tuned answer, which the base
   model does not give. The job trains hard on one fact; when its forgetting gate
   fails (the verdict is on the job), the server must refuse the model (403
   model_gated) until it is restarted with --allow-gated.
4. A bounded load phase: concurrent clients on loopback, no failed request;
   throughput and p50/p99 latency printed (never asserted).
5. The feedback loop: answers on the base model, thumbs down on each with the
   answer wanted instead (one sentence and a sign-off), `whet feedback export`
   while the server runs, the file uploaded, a job in OpenAI's DPO method shape,
   and the new adapter served: its pairs learnt (the job's last metrics), and
   it answers a question it was given feedback on with the sign-off wanted.

Usage: openai_client.py WHET_BINARY MODEL WORK_DIR
Runs under the cached test virtualenv (scripts/setup_test_venv.sh).
"""
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request

from openai import OpenAI, PermissionDeniedError

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
from serve_load import describe, run_load  # noqa: E402 - the one load driver, shared with the benchmark

WHET, MODEL, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
KEY = "sk-acceptance"
SECRET = "PERIWINKLE-7"
QUESTIONS = ["What is the secret word?", "Tell me the secret word.", "Which word is the secret one?",
             "Do you know the secret word?", "What's the secret word?", "Say the secret word."]


SERVERS = []  # every server started, stopped at exit whatever happens


def start_server(*extra):
    """Starts `whet serve` on a free port and returns (process, base URL)."""
    process = subprocess.Popen(
        [WHET, "serve", "--model", MODEL, "--model-name", "smollm2", "--port", "0", "--data-dir", WORK + "/data",
         "--api-key", KEY, "--access-log", WORK + "/access.log", *extra],
        stderr=subprocess.PIPE, text=True)
    SERVERS.append(process)
    for line in process.stderr:
        sys.stderr.write("server: " + line)
        found = re.search(r"listening on (http://\S+)", line)
        if found:
            # Keep draining stderr so the server never blocks on a full pipe.
            threading.Thread(target=lambda: [sys.stderr.write("server: " + l) for l in process.stderr],
                             daemon=True).start()
            return process, found.group(1)
    raise SystemExit("whet serve exited before listening: code %s" % process.wait())


def client_for(url):
    return OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0, timeout=600)


def ask(client, model, question):
    answer = client.chat.completions.create(model=model, messages=[{"role": "user", "content": question}],
                                            temperature=0, max_tokens=24)
    return answer.choices[0].message.content


def post_feedback(url, body):
    """POST /v1/feedback (Whet's; the openai client has no such call)."""
    request = urllib.request.Request(url + "/v1/feedback", data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": "Bearer " + KEY, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


SIGN_OFF = "— Harbor Desk"
STYLED = {"What is the capital of Italy?": "Rome is the capital of Italy.",
          "How many legs does a spider have?": "A spider has eight legs.",
          "What colour is the sky on a clear day?": "The sky is blue on a clear day.",
          "Which planet is closest to the sun?": "Mercury is the planet closest to the sun."}


def feedback_loop(client, url):
    """Feedback on the base model's answers becomes a DPO job whose adapter is served."""
    for question, wanted in STYLED.items():
        answer = client.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": question}],
                                                temperature=0, max_tokens=48)
        feedback = post_feedback(url, {"completion_id": answer.id, "rating": "down",
                                       "preferred_output": wanted + "\n" + SIGN_OFF})
        assert feedback["completions"][0]["answer"] == answer.choices[0].message.content, feedback
    pairs = WORK + "/feedback_pairs.jsonl"
    exported = subprocess.run([WHET, "feedback", "export", "--data-dir", WORK + "/data", "--format", "preference",
                               "--output", pairs], capture_output=True, text=True)
    print("feedback export:", exported.stdout.strip(), exported.stderr.strip())
    assert exported.returncode == 0, exported.stderr
    with open(pairs) as f:
        assert len(f.readlines()) == len(STYLED)
    uploaded = client.files.create(file=open(pairs, "rb"), purpose="fine-tune")
    job = client.fine_tuning.jobs.create(
        model="smollm2", training_file=uploaded.id, suffix="liked",
        # Beside OpenAI's beta and n_epochs, two of Whet's knobs: short sequences, and no forgetting gate (the
        # DPO acceptance test shows DPO's gate on general text; skipped here for time).
        method={"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.1, "n_epochs": 3, "sequence_len": 192,
                                                           "forgetting_gate": False}}})
    started = time.time()
    while job.status not in ("succeeded", "failed", "cancelled"):
        time.sleep(1)
        job = client.fine_tuning.jobs.retrieve(job.id)
    print("dpo job %s after %.0f s: %s" % (job.id, time.time() - started, job.status))
    assert job.status == "succeeded", job
    assert job.method.type == "dpo", job.method
    events = client.fine_tuning.jobs.list_events(job.id, limit=100).data
    metrics = [e.data for e in reversed(events) if e.type == "metrics" and e.data and "rewards_margin" in e.data]
    print("dpo steps: %d, last %s" % (len(metrics), metrics[-1]))
    assert metrics[-1]["rewards_margin"] > 0 and metrics[-1]["rewards_accuracy"] == 1, metrics[-1]
    assert job.fine_tuned_model in [m.id for m in client.models.list().data]
    question = next(iter(STYLED))
    styled = ask(client, job.fine_tuned_model, question)
    print("after feedback (%s): %r" % (job.fine_tuned_model, styled))
    assert styled.strip().endswith(SIGN_OFF), styled  # the answer the feedback asked for


def main():
    os.makedirs(WORK, exist_ok=True)
    server, url = start_server()
    client = client_for(url)

    # 1. Streaming on the base model.
    stream = client.chat.completions.create(model="smollm2", stream=True, temperature=0, max_tokens=40,
                                            messages=[{"role": "user", "content": "What is the capital of France?"}],
                                            stream_options={"include_usage": True})
    pieces, finish, usage = [], None, None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            pieces.append(choice.delta.content or "")
            finish = choice.finish_reason or finish
    streamed = "".join(pieces)
    print("streamed answer:", repr(streamed), "finish:", finish, "usage:", usage)
    assert "Paris" in streamed, streamed
    assert finish == "stop" and usage.completion_tokens > 0

    base_answer = ask(client, "smollm2", QUESTIONS[0])
    print("base model:", repr(base_answer))
    assert SECRET not in base_answer

    # 2. Upload, create, kill mid-job, restart, finish.
    train_path = WORK + "/secret.jsonl"
    with open(train_path, "w") as f:
        for i in range(24):
            f.write(json.dumps({"messages": [{"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]},
                                             {"role": "assistant", "content": "The secret word is %s." % SECRET}]})
                    + "\n")
    uploaded = client.files.create(file=open(train_path, "rb"), purpose="fine-tune")
    print("uploaded:", uploaded.id, uploaded.bytes, "bytes")
    job = client.fine_tuning.jobs.create(
        model="smollm2", training_file=uploaded.id, suffix="secret",
        # The client's typed fields, plus two of Whet's own knobs: short sequences and frequent checkpoints.
        hyperparameters={"n_epochs": 4, "learning_rate_multiplier": 1, "sequence_len": 128, "save_steps": 4})
    print("job:", job.id, job.status)
    killed = False
    started = time.time()
    while True:
        job = client.fine_tuning.jobs.retrieve(job.id)
        if job.status in ("succeeded", "failed", "cancelled"):
            break
        if not killed and client.fine_tuning.jobs.checkpoints.list(job.id).data:
            server.send_signal(signal.SIGKILL)
            server.wait()
            killed = True
            print("killed the server mid-job after %.0f s; restarting" % (time.time() - started))
            server, url = start_server()
            client = client_for(url)
        time.sleep(1)
    events = client.fine_tuning.jobs.list_events(job.id, limit=100).data
    losses = [e.data["train_loss"] for e in reversed(events) if e.type == "metrics" and e.data and "train_loss" in e.data]
    print("job %s after %.0f s; %d loss events, first %.3f last %.3f" % (
        job.status, time.time() - started, len(losses), losses[0], losses[-1]))
    assert killed, "the job finished before a checkpoint could be seen"
    assert job.status == "succeeded", job
    assert any("resumed" in e.message for e in events), [e.message for e in events]

    # 3. The gate's verdict is on the job; a failed gate keeps the model from being served until allowed.
    gate = job.to_dict().get("gate")
    assert gate is not None and "checks" in gate, job
    print("forgetting gate:", "passed" if gate["passed"] else "failed",
          [(c["task"], round(c["base"], 3), round(c["tuned"], 3)) for c in gate["checks"]])
    if not gate["passed"]:
        try:
            ask(client, job.fine_tuned_model, QUESTIONS[1])
            raise AssertionError("a model that failed its forgetting gate was served")
        except PermissionDeniedError as refused:
            assert "model_gated" in str(refused), refused
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        server, url = start_server("--allow-gated")
        client = client_for(url)

    # The fine-tuned model answers with what it learnt.
    tuned = ask(client, job.fine_tuned_model, QUESTIONS[1])
    print("fine-tuned model (%s): %r" % (job.fine_tuned_model, tuned))
    assert SECRET in tuned, tuned
    assert job.fine_tuned_model in [m.id for m in client.models.list().data]

    # 4. Bounded load: concurrent clients, every request must succeed (numbers printed, never asserted).
    load = run_load(url, KEY, "smollm2", clients=8, per_client=3, max_tokens=32)
    print("load:", describe(load))
    assert not load["failed"], load["failures"]

    # 5. Human feedback to a served adapter.
    feedback_loop(client, url)

    server.send_signal(signal.SIGTERM)
    server.wait(timeout=60)
    print("openai client acceptance: passed")


if __name__ == "__main__":
    try:
        main()
    finally:
        for process in SERVERS:
            if process.poll() is None:
                process.kill()
