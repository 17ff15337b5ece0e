"""The interactive docs in a real browser with the network cut off: every documented operation is listed.

Debian's Chromium, headless, loads /api/v1/docs from the app served on loopback. Every host name but
127.0.0.1 resolves to nothing and every other address goes to a proxy that does not exist, so a page
that needs a CDN stays blank. Chromium's console is logged: a content security policy violation (an
inline script, a style from elsewhere) would show there. Chromium runs in its own process group,
stopped by its pid when the test ends, pass or fail.
"""
import re
import shutil
import subprocess
import threading

import pytest
from werkzeug.serving import make_server

from devstack import free_port
from devstack.procs import stop_process

PAGE_BUDGET_MS = 30_000


@pytest.fixture
def served(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def offline_chromium(url, profile, console):
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is needed (devstack/bootstrap.sh installs it)"
    return subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
         # Swagger UI (5.33 on) renders only the operations in view once a document has 150 tags and operations
         # or more; a window taller than the whole list keeps every one of them in the page.
         "--window-size=1280,16000",
         f"--proxy-server=http://127.0.0.1:{free_port()}", "--enable-logging=stderr", "--log-level=0",
         f"--virtual-time-budget={PAGE_BUDGET_MS}", "--dump-dom", url],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=console, text=True, start_new_session=True)


def test_the_docs_list_every_operation_with_the_network_cut_off(client, served, tmp_path):
    documented = set(client.get("/api/v1/openapi.json").json["paths"])
    with open(tmp_path / "console.log", "w") as console:
        browser = offline_chromium(f"{served}/api/v1/docs", tmp_path / "profile", console)
        try:
            dom, _ = browser.communicate(timeout=120)
        finally:
            stop_process(browser)
    listed = set(re.findall(r'class="opblock-summary-path" data-path="([^"]+)"', dom))
    assert listed == documented, f"not listed: {sorted(documented - listed)}"
    violations = [line for line in (tmp_path / "console.log").read_text().splitlines()
                  if "CONSOLE" in line and "Content Security Policy" in line]
    assert not violations, violations
