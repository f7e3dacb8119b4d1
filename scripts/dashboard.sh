#!/usr/bin/env bash
# Set up and start the dashboard on http://127.0.0.1:8501 .
# Prepares the heartbeat data first if it is missing: from $RNN_ARENA_SOURCE
# (a folder or archive of MIT-BIH records, or Kaggle's CSVs) when set, else
# by downloading the records from PhysioNet. Loads the committed full-data
# reference runs into the store.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh" requirements.txt
cd "$ROOT"
HOME_DIR="${RNN_ARENA_HOME:-$ROOT/.rnn-arena}"
if [ ! -f "$HOME_DIR/datasets/heartbeat.json" ]; then
  if [ -n "${RNN_ARENA_SOURCE:-}" ]; then
    .venv/bin/python -m experiments prepare heartbeat --source "$RNN_ARENA_SOURCE" || true
  else
    .venv/bin/python -m experiments prepare heartbeat || \
      echo "(no heartbeat data yet: the dashboard's home page says how to add it)" >&2
  fi
fi
# the committed full-data reference runs (results/reference/), loaded once: a second import loads nothing
.venv/bin/python -m experiments reference import || echo "(reference runs not imported; see the message above)" >&2
exec .venv/bin/python -m streamlit run dashboard/app.py \
  --server.address "${RNN_ARENA_ADDRESS:-127.0.0.1}" --server.port "${RNN_ARENA_PORT:-8501}" \
  --server.headless true --browser.gatherUsageStats false "$@"
