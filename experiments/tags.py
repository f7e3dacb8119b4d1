"""The names of the MLflow run tags the project writes and reads. Plain
strings only (no MLflow, no torch), so any layer can import them; values
are written as strings ("true"/"false" for flags, JSON for structures)."""
from __future__ import annotations

PREFIX = "arena."  # the project's own tags; the run's data info is logged as PREFIX + key

# every run
WORKLOAD_TAG = "workload"
MODEL_TAG = "model"
DESCRIBE_TAG = "arena.describe"  # RunConfig.describe(), or a study's one-line summary
DIGEST_TAG = "arena.config_digest"  # RunConfig.digest()
# the run's data info (runner), each logged as PREFIX + key: device, train_size, val_size, test_size, dataset_key
DEVICE_TAG = "arena.device"
TRAIN_SIZE_TAG = "arena.train_size"
DATASET_KEY_TAG = "arena.dataset_key"  # the prepared data's key
EPOCH_TAG = "arena.epoch"  # the last finished epoch, while training (progress for listings and the monitor)
PROGRESS_TAG = "arena.progress"  # JSON: phase, batch, batches, epoch_started (unix s), at (unix s)
EPOCHS_RUN_TAG = "arena.epochs_run"
WALL_SECONDS_TAG = "arena.wall_seconds"
NUM_PARAMETERS_TAG = "arena.num_parameters"
STOPPED_EARLY_TAG = "arena.stopped_early"
LEARNED_TAG = "arena.learned"  # "true" / "false", set when a run finishes (read by listings)
REASON_TAG = "arena.learned_reason"  # core.diagnosis.Verdict.line
STATUS_TAG = "arena.status_detail"  # why a run stopped: cancelled, interrupted, a study's end
ERROR_TAG = "error"
ERROR_TYPE_TAG = "error_type"  # the exception's type; "ProcessDied" when its process vanished
ERROR_TRACEBACK_TAG = "error_traceback"
ERROR_TAGS = (ERROR_TAG, ERROR_TYPE_TAG, ERROR_TRACEBACK_TAG, STATUS_TAG)

# background processes and the queue
PROC_TAG = "arena.process"  # host:pid:start time of the process training the run
QUEUE_TAG = "arena.queue"  # "queued" while waiting for a slot, "started" once training

# studies: a parent run and its children
PARENT_TAG = "mlflow.parentRunId"
KIND_TAG = "arena.kind"  # "study" on a parent run
STUDY_TAG = "arena.study"  # the study's name, on the parent and its children
KEY_TAG = "arena.study_key"
STUDY_DESCRIPTION_TAG = "arena.study_description"
TOTAL_RUNS_TAG = "arena.total_runs"
FACTORS_TAG = "arena.factors"  # JSON list of the study's factor names
METRIC_TAG = "arena.metric"  # the study's metric
COUNTS_TAG = "arena.counts"  # JSON: runs per outcome when the study ends
CONFIG_KEY_TAG = "arena.study_config"  # studies.config_key: the config's identity within the study
POINT_TAG = "arena.point"  # a config's label
POINT_INDEX_TAG = "arena.point_index"
SEED_TAG = "arena.seed"
FACTOR_PREFIX = "arena.factor."
ATTEMPTS_TAG = "arena.attempts"
EXECUTOR_TAG = "arena.executor"
ESTIMATE_TAG = "arena.estimate_seconds"  # a one-click comparison's estimated time
BUDGET_TAG = "arena.budget_seconds"  # and the time it was allowed

# imported reference runs
REFERENCE_TAG = "arena.reference"  # "true" on imported reference runs (and their study)
RECORD_TAG = "arena.reference_record"  # the record file's hash (imports before identities)
IDENTITY_TAG = "arena.reference_identity"  # what a record describes: an import loads each identity once
REFERENCE_MACHINE_TAG = "arena.reference_machine"

# benchmarks
BENCHMARK_TAG = "arena.benchmark"  # the benchmark that made a run
NODE_TAG = "arena.node"  # the cluster node that trained the run
