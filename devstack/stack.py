"""The local Firebase stack: Google's Firestore emulator and the Firebase Auth emulator."""

import atexit
import json
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import urllib.request
from pathlib import Path

from .procs import Child, DevstackError, check_ports_free, free_ports, http_body, wait_ready

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
FIREBASE_TOOLS_VERSION = "15.34.2"  # keep in step with bootstrap.sh
PORT_LABELS = {
    "firestore": "Firestore emulator", "auth": "Auth emulator", "hub": "emulator hub", "logging": "emulator logging",
}
PORT_NAMES = tuple(PORT_LABELS)
FIRESTORE_MAIN = "com.google.cloud.datastore.emulator.firestore.CloudFirestore"
# The layout firebase-tools' own export uses, so `firebase emulators:start --import` reads our exports too.
EXPORT_METADATA = "firebase-export-metadata.json"
FIRESTORE_EXPORT_NAME = "firestore_export"
FIRESTORE_EXPORT_FILE = f"{FIRESTORE_EXPORT_NAME}/{FIRESTORE_EXPORT_NAME}.overall_export_metadata"


def firebase_tools_js():
    tools = Path(os.environ.get("BOXOFFICE_TOOLS_DIR") or Path.home() / ".cache" / "boxoffice")
    return tools / f"firebase-tools-{FIREBASE_TOOLS_VERSION}" / "node_modules/firebase-tools/lib/bin/firebase.js"


def firestore_jar():
    """The emulator JAR from the Debian package google-cloud-cli-firestore-emulator, if installed."""
    try:
        listing = subprocess.run(
            ["dpkg", "-L", "google-cloud-cli-firestore-emulator"], capture_output=True, text=True
        ).stdout
    except FileNotFoundError:
        return None
    jars = [Path(line) for line in listing.splitlines() if line.endswith("emulator.jar")]
    return next((jar for jar in jars if jar.is_file()), None)


def _require(command, why):
    path = shutil.which(command)
    if not path:
        raise DevstackError(f"`{command}` not found on PATH: {why}. Run `make bootstrap` to check the tools.")
    return path


def _admin_request(method, url, body=None):
    """A request with the emulators' admin credential ("Bearer owner" bypasses security rules)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url, data=data, method=method, headers={"Authorization": "Bearer owner", "Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.read()


class Stack:
    """Firestore and Auth emulators on their own ports, started and stopped by PID.

    ports: dict with any of firestore, auth, hub, logging; missing ones are free ports.
    data_dir: when given, data is imported from it at start and exported to it at stop.
    log_dir: where the emulators' output goes (default: a temporary dir removed at stop).
    rules: the Firestore rules file (default: the repo's firestore.rules, when it exists).
    """

    def __init__(self, project_id="demo-boxoffice", ports=None, data_dir=None, log_dir=None, rules=None):
        self.project_id = project_id
        given = dict(ports or {})
        unknown = set(given) - set(PORT_NAMES)
        if unknown:
            raise ValueError(f"unknown ports {sorted(unknown)}; expected some of {PORT_NAMES}")
        missing = [name for name in PORT_NAMES if name not in given]
        self.ports = {**dict(zip(missing, free_ports(len(missing)))), **given}
        # Absolute, because the emulators run in a temporary working directory.
        self.data_dir = Path(data_dir).resolve() if data_dir else None
        self.log_dir = Path(log_dir).resolve() if log_dir else None
        self.rules = Path(rules).resolve() if rules else REPO_ROOT / "firestore.rules"
        self._firestore = Child("firestore-emulator", self._firestore_ready)
        # SIGINT is firebase-tools' clean exit, which runs --export-on-exit; the export needs time.
        self._auth = Child("auth-emulator", self._auth_ready, stop_signal=signal.SIGINT, stop_timeout=20)
        self._tmp = None

    @classmethod
    def from_firebase_json(cls, path, project_id="demo-boxoffice", data_dir=None, log_dir=None):
        path = Path(path)
        config = json.loads(path.read_text())
        emulators = config.get("emulators", {})
        ports = {name: int(emulators[name]["port"]) for name in PORT_NAMES if "port" in emulators.get(name, {})}
        rules = config.get("firestore", {}).get("rules")
        return cls(project_id, ports, data_dir, log_dir, rules=path.parent / rules if rules else None)

    @property
    def firestore_host(self):
        return f"127.0.0.1:{self.ports['firestore']}"

    @property
    def auth_host(self):
        return f"127.0.0.1:{self.ports['auth']}"

    @property
    def env(self):
        return {
            "FIRESTORE_EMULATOR_HOST": self.firestore_host,
            "FIREBASE_AUTH_EMULATOR_HOST": self.auth_host,
            "GCLOUD_PROJECT": self.project_id,
            "FIREBASE_PROJECT_ID": self.project_id,
        }

    @property
    def pids(self):
        children = {"firestore": self._firestore, "auth": self._auth}
        return {name: child.proc.pid for name, child in children.items() if child.proc}

    @property
    def running(self):
        return self._firestore.alive and self._auth.alive

    def start(self, timeout=60):
        if self._tmp:
            return self
        check_ports_free({PORT_LABELS[name]: port for name, port in self.ports.items()})
        self._tmp = Path(tempfile.mkdtemp(prefix="devstack-"))
        atexit.register(self.stop)
        log_dir = self.log_dir or self._tmp / "logs"
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
            self._start_firestore(log_dir)
            self._start_auth(log_dir)
            wait_ready([self._firestore, self._auth], timeout)
        except BaseException:
            self._stop(export=False)
            raise
        return self

    def reset(self):
        """Delete every document and every account."""
        project = self.project_id
        _admin_request(
            "DELETE", f"http://{self.firestore_host}/emulator/v1/projects/{project}/databases/(default)/documents"
        )
        _admin_request("DELETE", f"http://{self.auth_host}/emulator/v1/projects/{project}/accounts")

    def stop(self):
        self._stop(export=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _firestore_ready(self):
        return (http_body(f"http://{self.firestore_host}/") or "").strip() == "Ok"

    def _auth_ready(self):
        return "authEmulator" in (http_body(f"http://{self.auth_host}/") or "")

    def _start_firestore(self, log_dir):
        java = _require("java", "the Firestore emulator is a Java program")
        saved = self.data_dir / "firestore" if self.data_dir else None
        jar = firestore_jar()
        env = None
        if jar:
            cmd = [java, "-cp", jar, FIRESTORE_MAIN, "start", "--host=127.0.0.1",
                   f"--port={self.ports['firestore']}", f"--project_id={self.project_id}"]
            if self.rules.is_file():
                cmd.append(f"--rules={self.rules}")
            if saved and (saved / FIRESTORE_EXPORT_FILE).is_file():
                cmd.append(f"--import-data={saved / FIRESTORE_EXPORT_FILE}")
        else:
            # No Debian package (a developer's laptop): firebase-tools downloads the same JAR and runs it,
            # which needs Java 21+. Its hub and logging ports must differ from the Auth emulator's.
            hub, logging_port = free_ports(2)
            firestore_config = {"rules": str(self.rules)} if self.rules.is_file() else {}
            cmd = self._firebase_tools_cmd(
                "firestore", {"firestore": self.ports["firestore"], "hub": hub, "logging": logging_port},
                firestore_config,
            )
            if saved and (saved / EXPORT_METADATA).is_file():
                cmd += ["--import", saved]
            env = self._firebase_tools_env("firestore")
        self._firestore.start(cmd, log_dir, env=env, cwd=self._tmp)

    def _start_auth(self, log_dir):
        ports = {name: self.ports[name] for name in ("auth", "hub", "logging")}
        cmd = self._firebase_tools_cmd("auth", ports)
        if self.data_dir:
            saved = self.data_dir / "auth"
            if (saved / EXPORT_METADATA).is_file():
                cmd += ["--import", saved]
            cmd += ["--export-on-exit", saved]
        self._auth.start(cmd, log_dir, env=self._firebase_tools_env("auth"), cwd=self._tmp)

    def _firebase_tools_cmd(self, only, ports, firestore_config=None):
        node = _require("node", "the Firebase emulators run on Node.js")
        script = firebase_tools_js()
        if not script.is_file():
            raise DevstackError(f"firebase-tools {FIREBASE_TOOLS_VERSION} is not installed at {script}; run `make bootstrap`.")
        emulators = {name: {"host": "127.0.0.1", "port": port} for name, port in ports.items()}
        config = {"emulators": {**emulators, "ui": {"enabled": False}, "singleProjectMode": True}}
        if firestore_config:
            config["firestore"] = firestore_config
        config_path = self._tmp / f"firebase-{only}.json"
        config_path.write_text(json.dumps(config, indent=2))
        return [node, script, "emulators:start", "--only", only, "--project", self.project_id, "--config", config_path]

    def _firebase_tools_env(self, only):
        # firebase-tools finds "its" hub through a locator file in the temp dir, keyed only by project id:
        # a private TMPDIR keeps `make run` and a test run from exporting each other's data.
        tmpdir = self._tmp / f"tmp-{only}"
        tmpdir.mkdir(exist_ok=True)
        return {**os.environ, "CI": "true", "TMPDIR": str(tmpdir)}

    def _export_firestore(self):
        """Save all documents under data_dir/firestore through the emulator's export endpoint. The
        JAR's own --export-on-exit writes nothing on SIGTERM, SIGINT or /shutdown (checked, v1.19.9)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fresh = Path(tempfile.mkdtemp(prefix=".firestore-new-", dir=self.data_dir))
        try:
            _admin_request("POST", f"http://{self.firestore_host}/emulator/v1/projects/{self.project_id}:export", {
                "database": f"projects/{self.project_id}/databases/(default)",
                "export_directory": str(fresh),
                "export_name": FIRESTORE_EXPORT_NAME,
            })
            (fresh / EXPORT_METADATA).write_text(json.dumps({
                "version": FIREBASE_TOOLS_VERSION,
                "firestore": {"path": FIRESTORE_EXPORT_NAME, "metadata_file": FIRESTORE_EXPORT_FILE},
            }, indent=2))
        except BaseException:
            shutil.rmtree(fresh, ignore_errors=True)
            raise
        # Swap whole directories so an interrupted export never leaves half of one behind.
        target = self.data_dir / "firestore"
        old = fresh.with_name(fresh.name.replace("-new-", "-old-"))
        if target.exists():
            target.rename(old)
        fresh.rename(target)
        shutil.rmtree(old, ignore_errors=True)

    def _stop(self, export):
        if not self._tmp:
            return
        if export and self.data_dir and self._firestore.alive:
            try:
                self._export_firestore()
            except Exception as e:
                logger.warning("Firestore export to %s failed, previous data kept: %s", self.data_dir, e)
        self._firestore.stop()
        self._auth.stop()
        shutil.rmtree(self._tmp, ignore_errors=True)
        self._tmp = None
        atexit.unregister(self.stop)
