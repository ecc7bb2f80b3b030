#!/usr/bin/env bash
# Bounded schemathesis run against a live natter (the OpenAPI fuzzer, PyPI, pinned): zero 5xx
# and every response as the spec says (status, content type, schema).
#
#   NATTER_URL=http://127.0.0.1:38123 NATTER_TOKEN=<accessToken of a login> bash run.sh
#
# NATTER_URL    base URL of the server (its spec is NATTER_URL/api/openapi.json)
# NATTER_TOKEN  an access token (`accessToken` of POST /api/auth/login); an admin's reaches
#               the admin paths too. Access tokens live 15 minutes: log in just before.
# Optional:
# NATTER_FUZZ_MAX_EXAMPLES  test cases per operation (default 20)
# NATTER_FUZZ_SEED          seed (default 42)
# NATTER_FUZZ_REPORT_DIR    where JUnit/NDJSON/JSON reports go (default ./reports/<timestamp> here)
# NATTER_FUZZ_SKIP_DESTRUCTIVE=1  skip phase 2 (the operations that end or alter a session)
#
# Phase 1 runs every operation except those that would end or alter the caller's own login
# (logout, change-password, session revocation, user deletion, role change). Phase 2 runs
# those afterwards: user deletion, role change and session revocation with NATTER_TOKEN (the
# fuzzer only has made-up ids for them, so they answer 401/403/404), and each logout and
# change-password operation with a throwaway account it signs up for (POST /api/auth/signup,
# which needs the server's signup rate limit not to be exhausted: RATE_LIMITS=off in CI).
#
# Installs the pinned schemathesis into target/schemathesis-<version>/venv when missing.
# `cargo test` runs it (tests/schemathesis.rs) against a server it starts.
# Exits non-zero if any phase reports a failure or an error. Its last line is
# "schemathesis: N passed, N failed", counting operations.
set -euo pipefail

ST_VERSION=4.32.5
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TARGET=${CARGO_TARGET_DIR:-$(cd "$HERE/../.." && pwd)/target}
VENV="$TARGET/schemathesis-$ST_VERSION/venv"

: "${NATTER_URL:?set NATTER_URL to the natter base URL, e.g. http://127.0.0.1:3000}"
: "${NATTER_TOKEN:?set NATTER_TOKEN to an accessToken from POST /api/auth/login}"
NATTER_URL=${NATTER_URL%/}
MAX_EXAMPLES=${NATTER_FUZZ_MAX_EXAMPLES:-20}
SEED=${NATTER_FUZZ_SEED:-42}
REPORT_DIR=${NATTER_FUZZ_REPORT_DIR:-$TARGET/schemathesis-reports/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$REPORT_DIR"

# --- install ---------------------------------------------------------------------------
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -qx "schemathesis, version $ST_VERSION"; then
    echo "Installing schemathesis==$ST_VERSION into $VENV" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$ST_VERSION"
fi
ST="$VENV/bin/schemathesis"
PY="$VENV/bin/python"
"$ST" --version

SPEC="$NATTER_URL/api/openapi.json"

# A bad or expired token would turn the run into 401s that pass every check: refuse it.
"$PY" - "$NATTER_URL" "$NATTER_TOKEN" <<'EOF'
import sys
import requests
base, token = sys.argv[1], sys.argv[2]
r = requests.get(f"{base}/api/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
if r.status_code != 200:
    sys.exit(f"NATTER_TOKEN is not accepted by {base}/api/auth/me: {r.status_code} {r.text[:200]}")
print(f"token ok: {r.json().get('email')} ({r.json().get('role')})")
EOF
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
# Operations that end or alter the session of the account they run as.
SESSION_OPS='logout|videotube_logout|change_password|videotube_change_password'
# Operations that could delete or demote an account or end a session, given a real id.
ADMIN_OPS='revoke_session|delete_user|chat_api_delete_user|set_role'

# One bounded schemathesis run: st_run NAME TOKEN FILTER-ARGS...
# -w 1: with 2 workers, schemathesis 4.32.5 on CPython 3.11 once hit a thread race in
# hypothesis's lambda-source parsing ("AST constructor recursion depth mismatch").
st_run() {
    local name=$1 token=$2
    shift 2
    echo
    echo "=== schemathesis: $name"
    local rc=0
    "$ST" run "$SPEC" \
        --header "Authorization: Bearer $token" \
        --checks "$CHECKS" \
        --max-examples "$MAX_EXAMPLES" \
        --seed "$SEED" \
        --workers 1 \
        --generation-with-security-parameters false \
        --request-timeout 30 \
        --no-color \
        --report junit,ndjson,json \
        --report-dir "$REPORT_DIR/$name" \
        "$@" || rc=$?
    echo "=== schemathesis: $name exited $rc"
    return "$rc"
}

# A throwaway account's access token, printed on stdout.
throwaway_token() {
    "$PY" - "$NATTER_URL" <<'EOF'
import secrets, sys
import requests
base = sys.argv[1]
email = f"fuzz-throwaway-{secrets.token_hex(6)}@example.com"
password = "Fuzz-pass-" + secrets.token_hex(6)
r = requests.post(f"{base}/api/auth/signup", json={"fullName": "Fuzz throwaway", "email": email, "password": password}, timeout=30)
if r.status_code != 201:
    sys.exit(f"signup of a throwaway account failed: {r.status_code} {r.text[:300]}")
r = requests.post(f"{base}/api/auth/login", json={"email": email, "password": password}, timeout=30)
if r.status_code != 200:
    sys.exit(f"login of the throwaway account failed: {r.status_code} {r.text[:300]}")
print(r.json()["accessToken"])
EOF
}

status=0
start=$(date +%s)

# --- phase 1: everything that leaves the caller's login alone -------------------------------
st_run main "$NATTER_TOKEN" --exclude-operation-id-regex "^($SESSION_OPS|$ADMIN_OPS)\$" || status=1

# --- phase 2: session-ending operations, last ----------------------------------------------
if [[ "${NATTER_FUZZ_SKIP_DESTRUCTIVE:-0}" != 1 ]]; then
    st_run admin-destructive "$NATTER_TOKEN" --include-operation-id-regex "^($ADMIN_OPS)\$" || status=1
    for op in ${SESSION_OPS//|/ }; do
        if token=$(throwaway_token); then
            st_run "$op" "$token" --include-operation-id "$op" || status=1
        else
            echo "=== schemathesis: $op not run: no throwaway account" >&2
            status=1
        fi
    done
fi

# --- summary ----------------------------------------------------------------------------------
"$PY" - "$REPORT_DIR" "$(($(date +%s) - start))" <<'EOF'
import glob, json, os, sys
report_dir, elapsed = sys.argv[1], sys.argv[2]
tested = failed = 0
for path in sorted(glob.glob(os.path.join(report_dir, "*", "json-*.json"))):
    d = json.load(open(path))
    bad = {op for f in d["failures"] for op in f["operations"] if op != "Stateful tests"}
    stateful = any("Stateful tests" in f["operations"] for f in d["failures"])
    n = d["operations"]["tested"]
    errs = sum(e.get("count", 1) for e in d["errors"])
    print(f"{os.path.basename(os.path.dirname(path))}: {n} operations, {len(bad)} with failures"
          f"{', stateful failures' if stateful else ''}{f', {errs} errors' if errs else ''}, exit {d['exit_code']}")
    for f in d["failures"]:
        print(f"    {f['code']} {f['title']}: {', '.join(f['operations'])}")
    tested += n
    failed += len(bad) + (1 if (errs or stateful) and not bad else 0)
print(f"reports: {report_dir}  time: {elapsed}s")
print(f"schemathesis: {tested - failed} passed, {failed} failed")
EOF
exit "$status"
