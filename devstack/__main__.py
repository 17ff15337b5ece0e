"""python -m devstack run | emulators: the local stack for development (what `make run` calls)."""

import argparse
import os
import signal
import socket
import sys
import time

from .procs import DevstackError, check_ports_free, spawn, stop_process
from .stack import PORT_LABELS, REPO_ROOT, Stack
from .twilio_standin import TwilioStandIn

DATA_DIR = REPO_ROOT / ".emulator-data"
LOG_DIR = REPO_ROOT / "logs"


def read_dotenv(path):
    """KEY=VALUE lines; blank lines, comments, `export ` prefixes and quotes handled like python-dotenv."""
    values = {}
    if not path.is_file():
        return values
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        else:
            value = value.split(" #", 1)[0].strip()
        values[key] = value
    return values


def settings():
    # The environment wins over .env, as it does for the app (python-dotenv without override).
    values = {**read_dotenv(REPO_ROOT / ".env"), **os.environ}
    api_port = values.get("API_PORT") or "5000"
    if not api_port.isdigit():
        raise DevstackError(f"API_PORT must be a port number, not {api_port!r}")
    return int(api_port), values.get("FIREBASE_PROJECT_ID") or "demo-boxoffice", values


def say(message):
    print(f"devstack: {message}", flush=True)


def local_stack(project_id, extra_ports=None):
    stack = Stack.from_firebase_json(REPO_ROOT / "firebase.json", project_id, data_dir=DATA_DIR, log_dir=LOG_DIR)
    labels = {f"{PORT_LABELS[name]}, firebase.json": port for name, port in stack.ports.items()}
    check_ports_free({**labels, **(extra_ports or {})})
    return stack


def start_stack(stack):
    say(f"starting the Firestore and Auth emulators (logs in {LOG_DIR}, data in {DATA_DIR}) ...")
    started = time.monotonic()
    stack.start()
    say(f"emulators ready in {time.monotonic() - started:.0f} s: "
        f"Firestore {stack.firestore_host}, Auth {stack.auth_host}, project {stack.project_id}")


def wait_port(port, proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


def run_seed(env):
    say("seeding demo data (flask seed-demo) ...")
    seed = spawn([sys.executable, "-m", "flask", "--app", "run:app", "seed-demo"], env=env, cwd=REPO_ROOT)
    try:
        code = seed.wait()
    finally:
        stop_process(seed)
    if code:
        raise DevstackError(f"`flask --app run:app seed-demo` failed with exit code {code}")


def start_twilio(values, api_port):
    """Texts go to the Twilio stand-in, unless .env or the environment sets SMS up otherwise."""
    if values.get("SMS_CHANNEL") or values.get("TWILIO_ACCOUNT_SID"):
        return None, {}
    twilio = TwilioStandIn(log_dir=LOG_DIR, callbacks=True).start()
    say(f"Twilio stand-in {twilio.url}: texts are logged to {LOG_DIR / 'twilio-standin.log'} "
        f"and listed at {twilio.url}/_standin/messages")
    return twilio, {**twilio.env(), "SMS_WEBHOOK_BASE_URL": f"http://127.0.0.1:{api_port}"}


def run():
    api_port, project_id, values = settings()
    stack = local_stack(project_id, {"API, API_PORT": api_port})
    children = {}
    twilio = None
    try:
        start_stack(stack)
        twilio, sms_env = start_twilio(values, api_port)
        env = {**os.environ, **stack.env, **sms_env, "APP_ENV": "development", "API_PORT": str(api_port)}
        run_seed(env)
        children["API"] = spawn([sys.executable, "run.py"], env=env, cwd=REPO_ROOT)
        children["scheduler"] = spawn([sys.executable, "scheduler.py"], env=env, cwd=REPO_ROOT)
        if not wait_port(api_port, children["API"], timeout=30):
            say(f"warning: the API is not listening on port {api_port} yet")
        base = f"http://127.0.0.1:{api_port}/api/v1"
        say(f"API {base}  docs {base}/docs")
        say(f"FIRESTORE_EMULATOR_HOST={stack.firestore_host} FIREBASE_AUTH_EMULATOR_HOST={stack.auth_host}")
        say("Ctrl-C stops everything")
        while stack.running:
            for name, proc in children.items():
                if proc.poll() is not None:
                    say(f"the {name} exited with code {proc.returncode}")
                    return 1
            time.sleep(0.5)
        say(f"an emulator exited; see its log in {LOG_DIR}")
        return 1
    finally:
        shutdown(stack, children, twilio)


def emulators():
    _, project_id, _ = settings()
    stack = local_stack(project_id)
    try:
        start_stack(stack)
        print("".join(f"export {key}={value}\n" for key, value in stack.env.items()), flush=True)
        say("Ctrl-C stops the emulators (data is kept in .emulator-data/)")
        while stack.running:
            time.sleep(0.5)
        say(f"an emulator exited; see its log in {LOG_DIR}")
        return 1
    finally:
        shutdown(stack, {})


def shutdown(stack, children, twilio=None):
    # Every stop below is bounded by timeouts; a second Ctrl-C must not cut the emulators' export short.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    say("stopping ...")
    for proc in children.values():
        stop_process(proc)
    if twilio:
        twilio.stop()
    stack.stop()
    say("stopped")


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="emulators (data kept in .emulator-data/), demo seed, API and scheduler")
    commands.add_parser("emulators", help="only the emulators from firebase.json; prints the variables to export")
    args = parser.parse_args(argv)
    # SIGTERM (e.g. from a supervisor) takes the same orderly path as Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return {"run": run, "emulators": emulators}[args.command]()
    except KeyboardInterrupt:
        return 0
    except DevstackError as e:
        print(f"devstack: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
