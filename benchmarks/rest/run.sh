#!/usr/bin/env bash
# Load benchmark of the REST server: 200 clients polling a job's status
# (with an API key) and verifying a bearer token, for 30 s, with wrk on
# loopback. Usage (from the repository root):
#   bash benchmarks/rest/run.sh [DELAY_MS]
# DELAY_MS is each client's pause between requests (default 0: as fast as
# possible; 100: each client polls ten times a second).
set -euo pipefail
delay=${1:-0}
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
go build -o "$dir/autoid" ./cmd/autoid
"$dir/autoid" --workspace "$dir/ws" ingest --dir ../shared/data/showcase --mapping testdata/showcase-mapping.yaml >/dev/null 2>&1
AUTOID_ADMIN_USER=admin@example.com AUTOID_ADMIN_PASSWORD='bench password' \
  "$dir/autoid" --workspace "$dir/ws" serve --addr 127.0.0.1:18080 2>"$dir/serve.log" &
pid=$!
until curl -sf localhost:18080/healthz >/dev/null; do sleep 0.2; done
json() { python3 -c "import sys, json; print(json.load(sys.stdin)['$1'])"; }
TOKEN=$(curl -s localhost:18080/api/authentication/login -H 'Content-Type: application/json' \
  -d '{"username": "admin@example.com", "password": "bench password"}' | json token)
KEY=$(curl -s localhost:18080/api/admin/createApiToken -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d '{"name": "bench"}' | json token)
curl -sf localhost:18080/api/job_definition -H "authorization: $KEY" \
  -d '{"entityData": [{"job_name": "ShowCaseAudit", "job_type": "audit"}]}' >/dev/null
curl -sf localhost:18080/jas/job/run -H "authorization: $KEY" -d '{"jobDefinitionName": "ShowCaseAudit"}' >/dev/null
until curl -s "localhost:18080/jas/job/status?jobDefinitionName=ShowCaseAudit" -H "authorization: $KEY" | grep -q succeeded; do sleep 0.2; done
cpu() { awk '{print $14 + $15}' /proc/$pid/stat; }
(for i in $(seq 0 6); do echo "t=$((i * 5))s rss=$(ps -o rss= -p $pid) KB"; sleep 5; done) &
c0=$(cpu)
DELAY_MS=$delay TOKEN=$TOKEN KEY=$KEY wrk -t2 -c200 -d30s -s benchmarks/rest/poll.lua http://127.0.0.1:18080
c1=$(cpu)
wait %2 2>/dev/null || true
echo "server CPU: $(( (c1 - c0) * 10 )) ms; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
