#!/usr/bin/env bash
# Train the full-data reference runs one at a time, committing each record
# (results/reference/) as it is written, so a job stopped anywhere carries on
# from what is committed, on this machine or another. Hours on a CPU.
# Usage: bash scripts/reference.sh [reference run options: --seeds N --only GROUP --threads N]
# Two loops on one home (one per core) share the work: each run is claimed
# (HOME/reference-claims) by the job that trains it.
# The data must be prepared in RNN_ARENA_REFERENCE_HOME (default .rnn-arena-reference):
#   python -m experiments --home .rnn-arena-reference prepare heartbeat --source PATH
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
HOME_DIR="${RNN_ARENA_REFERENCE_HOME:-.rnn-arena-reference}"
PY="${PYTHON:-.venv/bin/python}"
# the repository's own git folder (a worktree's .git is a file naming it)
LOCK="$(cd "$(git rev-parse --git-common-dir)" && pwd)/arena-commit.lock"
while true; do
  before="$(git status --porcelain -- results/reference | wc -l)"
  out="$("$PY" -m experiments --home "$HOME_DIR" reference run --max-runs 1 "$@" 2>&1 | tee -a /dev/stderr | tail -1)"
  if [[ "$out" == "every planned reference run has a record" || "$out" == *"being trained by other jobs"* ]]; then
    break
  fi
  if [ -n "$(git status --porcelain -- results/reference)" ]; then
    msg="reference: $(echo "$out" | sed -e 's/^wrote results\/reference\///' | cut -c1-150)"
    # one git writer at a time (other commits may be made beside this job)
    # a commit that cannot be made now (another git operation in progress) is
    # retried after the next run: the record stays on disk and is added then
    flock "$LOCK" sh -c 'git add results/reference && git commit -q -m "$1" -- results/reference' _ "$msg" \
      || echo "could not commit the record now; it is committed with the next one" >&2
  elif [ "$before" = "0" ]; then
    echo "reference run wrote no record; stopping" >&2
    exit 1
  fi
done
