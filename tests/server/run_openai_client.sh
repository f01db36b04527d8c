#!/usr/bin/env bash
# Runs openai_client.mjs (the `openai` npm package) against a gander-server on a free port.
#   run_openai_client.sh GANDER_SERVER_BINARY FIXTURES_DIR WORK_DIR
# The package is installed once into WORK_DIR/npm and reused. Exit 77 (ctest: skipped) when node or
# npm is missing or the registry cannot be reached; any failed check is exit 1.
set -euo pipefail
server_bin=$1
fixtures=${GANDER_FIXTURES:-$2}
work=$3
here=$(cd "$(dirname "$0")" && pwd)
model=$fixtures/rwkv7/trained-tiny.pth

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "SKIP: node/npm not installed (installer/install-deps.sh installs them)"
  exit 77
fi
[ -f "$model" ] || { echo "missing fixture $model"; exit 1; }

mkdir -p "$work/npm"
if [ ! -f "$work/npm/node_modules/openai/package.json" ]; then
  echo '{"private": true}' > "$work/npm/package.json"
  if ! (cd "$work/npm" && npm install --no-audit --no-fund --silent openai@4); then
    echo "SKIP: could not install the openai package from the npm registry"
    exit 77
  fi
fi
cp "$here/openai_client.mjs" "$work/npm/openai_client.mjs" # resolves 'openai' from work/npm

key="test-key-$$"
log=$work/server.log
"$server_bin" --model "$model" --port 0 --api-key "$key" --threads 2 >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
port=
for _ in $(seq 1 100); do
  port=$(sed -n 's#.*listening on http://127.0.0.1:\([0-9]*\)/v1.*#\1#p' "$log")
  [ -n "$port" ] && break
  kill -0 $pid 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "server did not start"; cat "$log"; exit 1; }
model_id=$(sed -n 's/^gander-server: model //p' "$log")
node "$work/npm/openai_client.mjs" "http://127.0.0.1:$port/v1" "$key" "$model_id"
