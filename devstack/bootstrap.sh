#!/usr/bin/env bash
# Prepare a clone for `make run` and `make test`. Idempotent; takes a second when everything is there.
set -euo pipefail

FIREBASE_TOOLS_VERSION=15.34.2  # keep in step with devstack/stack.py
TOOLS_DIR="${BOXOFFICE_TOOLS_DIR:-$HOME/.cache/boxoffice}"
FT_DIR="$TOOLS_DIR/firebase-tools-$FIREBASE_TOOLS_VERSION"
FT_JS="$FT_DIR/node_modules/firebase-tools/lib/bin/firebase.js"

cd "$(dirname "$0")/.."

say() { echo "bootstrap: $*"; }
die() { echo "bootstrap: ERROR: $*" >&2; exit 1; }

# --- Python virtualenv and requirements -------------------------------------------------------
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    command -v "$PYTHON" >/dev/null || die "$PYTHON not found: install Python 3.11+"
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "$("$PYTHON" --version 2>&1) is too old: Python 3.11+ is needed (set PYTHON=/path/to/python3.11)"
    say "creating .venv"
    "$PYTHON" -m venv .venv || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
fi

for f in requirements.txt requirements-dev.txt; do
    [ -f "$f" ] || die "$f is missing"
done
STAMP=.venv/.requirements.sha256
wanted="$(cat requirements.txt requirements-dev.txt | .venv/bin/python -c \
    'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$wanted" ]; then
    say "installing Python requirements"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt \
        || die "pip install failed (see above)"
    echo "$wanted" > "$STAMP"
fi
say "python: ok ($(.venv/bin/python --version 2>&1))"

# --- Node.js and firebase-tools (the Auth emulator), shared by every clone ----------------------
command -v node >/dev/null || die "node not found: the Auth emulator needs Node.js 20+ (https://nodejs.org or apt-get install nodejs npm)"
if [ ! -f "$FT_JS" ]; then
    command -v npm >/dev/null || die "npm not found: needed once to install firebase-tools (apt-get install npm)"
    say "installing firebase-tools $FIREBASE_TOOLS_VERSION into $FT_DIR (about 3 minutes, once per machine)"
    mkdir -p "$TOOLS_DIR"
    # Install beside the target and rename into place: an interrupted install is never taken for a whole one.
    tmp="$(mktemp -d "$TOOLS_DIR/.firebase-tools-$FIREBASE_TOOLS_VERSION.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    npm install --prefix "$tmp" --no-audit --no-fund --loglevel=error "firebase-tools@$FIREBASE_TOOLS_VERSION" \
        || die "npm install firebase-tools@$FIREBASE_TOOLS_VERSION failed (see above)"
    [ -f "$tmp/node_modules/firebase-tools/lib/bin/firebase.js" ] || die "npm install left no firebase.js in $tmp"
    if [ -f "$FT_JS" ]; then
        say "another bootstrap installed firebase-tools meanwhile; using that one"
    else
        rm -rf "$FT_DIR"  # an incomplete install from elsewhere
        mv "$tmp" "$FT_DIR"
    fi
    rm -rf "$tmp"
    trap - EXIT
fi
say "firebase-tools: ok ($FT_DIR)"

# --- Node packages the tests run (targaryen checks database.rules.json), pinned by package-lock.json ----
# Small (15 MB, seconds), so per clone in ./node_modules rather than in the shared tools folder.
NODE_STAMP=node_modules/.package-lock.sha256
wanted="$(.venv/bin/python -c 'import hashlib; print(hashlib.sha256(open("package-lock.json", "rb").read()).hexdigest())')"
if [ "$(cat "$NODE_STAMP" 2>/dev/null)" != "$wanted" ]; then
    command -v npm >/dev/null || die "npm not found: needed to install the Node packages in package-lock.json (apt-get install npm)"
    say "installing Node packages from package-lock.json (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error || die "npm ci failed (see above)"
    echo "$wanted" > "$NODE_STAMP"
fi
say "node packages: ok (targaryen $(node -p 'require("targaryen/package.json").version'))"

# --- Java (the Firestore emulator) -------------------------------------------------------------
command -v java >/dev/null \
    || die "java not found: the Firestore emulator needs a Java runtime (Debian: apt-get install -y default-jre-headless; Java 21+ if the google-cloud-cli-firestore-emulator package is not installed)"
say "java: ok ($(java -version 2>&1 | head -n 1))"

# --- Redis (optional: shared rate limits and cache; its tests) ----------------------------------
if ! command -v redis-server >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing redis-server with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        { apt-get update -q && apt-get install -y -q redis-server; } || die "apt-get install redis-server failed (see above)"
    else
        say "redis-server not found and not installing it (needs root and apt-get): install it yourself, e.g."
        say "    sudo apt-get install redis-server   or   brew install redis"
        say "(the API runs without it; make test needs it for the Redis-backed rate-limit and cache tests)"
    fi
fi
command -v redis-server >/dev/null && say "redis-server: ok"

# --- Chromium (the tests check the interactive docs in a real browser, offline) ----------------------
if ! command -v chromium >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing chromium with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        { apt-get update -q && apt-get install -y -q chromium; } || die "apt-get install chromium failed (see above)"
    else
        say "chromium not found and not installing it (needs root and apt-get): install it yourself, e.g."
        say "    sudo apt-get install chromium"
        say "(the API runs without it; make test needs it for the offline docs test)"
    fi
fi
command -v chromium >/dev/null && say "chromium: ok"
say "ready"
