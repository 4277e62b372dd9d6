#!/usr/bin/env bash
# tests/slurm.sh: textclean as Slurm job arrays on a real one-node Slurm cluster
# (../shared/slurm). Plans the bench corpus, submits it with `textclean slurm` as 4 and
# 7 shards, and checks that the merged output, removed-lines log and stats (timings
# left out) are byte-identical to one `textclean clean` process. Then breaks one shard
# of a third run on purpose, checks that `merge` refuses and names it as a ready
# `--array=K`, re-runs that shard alone through sbatch, and checks identity again.
# Prints the wall times. The cluster is stopped on exit, whatever happened.
#
# Needs root (the cluster's daemons) and ../shared beside the repository; without
# ../shared it skips (exit 0), or fails under CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ! -d ../shared/slurm || ! -f ../shared/bench/gutenberg_en.jsonl.gz ]]; then
  if [[ ${CI:-} == true ]]; then
    echo "FAIL: ../shared (slurm/, bench/) is missing, and CI=true"; exit 1
  fi
  echo "SKIP: ../shared is absent; tests/slurm.sh needs ../shared/slurm and ../shared/bench"
  exit 0
fi

S=$(realpath ../shared/slurm)            # absolute: the EXIT trap may run elsewhere
BENCH=$(realpath ../shared/bench/gutenberg_en.jsonl.gz)
W=$(mktemp -d /tmp/textclean-slurm.XXXXXX)
cleanup() {
  local rc=$?
  bash "$S/stop-local-slurm.sh" --clean </dev/null || true
  if (( rc == 0 )); then rm -rf "$W"; else echo "tests/slurm.sh FAILED; files kept in $W"; fi
}
# Set the trap first: a start that fails half-way still gets its daemons stopped.
trap cleanup EXIT

log() { printf '\n=== %s\n' "$*"; }
fail() { echo "FAIL: $*"; exit 1; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
secs() { local ms=$(( $(now_ms) - $1 )); printf '%d.%03d' $((ms / 1000)) $((ms % 1000)); }

log "cargo build --release"
cargo build --release --quiet
TC=$(realpath "${CARGO_TARGET_DIR:-target}/release/textclean")

log "starting the local Slurm cluster"
bash "$S/start-local-slurm.sh" </dev/null
. /tmp/local-slurm/env.sh

# The full default pipeline, written out as a file as a user would fork it.
CFG=$W/config.toml
"$TC" check-config >"$CFG"

# Distinct JobState values of a job (every task of an array), e.g. "COMPLETED FAILED ".
job_states() { scontrol -o show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2 | sort -u | tr '\n' ' '; }
# Polls (as ../shared/slurm/README.md says) until no task is pending or running.
wait_job() {
  local j=$1 st deadline=$(( $(now_ms) + 180000 ))
  while :; do
    st=$(job_states "$j")
    case " $st" in
      " "|*PENDING*|*RUNNING*|*CONFIGURING*|*COMPLETING*|*SUSPENDED*|*REQUEUE*) ;;
      *) echo "$st"; return 0 ;;
    esac
    (( $(now_ms) < deadline )) || { echo "TIMEOUT($st)"; return 1; }
    sleep 0.1
  done
}
# Waits for every job `textclean slurm` printed ("STEP JOBID [--array=…]").
wait_chain() { local st; while read -r step id _; do st=$(wait_job "$id") || true; echo "$step $id $st"; done <"$1"; }

# Stats without the fields that measure time (they can never be identical).
counters() { jq -S 'del(.elapsed_secs, .mb_per_sec, .read_time, .decode_time, .render_time, .write_time) | .stages |= map([.[0], (.[1] | del(.time))])' "$1"; }
check_identity() {
  local run=$1 what=$2
  cmp "$W/one.jsonl" "$run/output.jsonl" || fail "$what: output differs from one process"
  cmp "$W/one.removed.jsonl" "$run/removed.jsonl" || fail "$what: removed-lines log differs"
  diff <(counters "$W/one.stats.json") <(counters "$run/stats.json") || fail "$what: stats differ"
  echo "$what: output ($(stat -c %s "$run/output.jsonl") bytes), removed log and stats identical to one process"
}

log "one process"
t=$(now_ms)
"$TC" clean --quiet --config "$CFG" -o "$W/one.jsonl" --stats "$W/one.stats.json" \
  --removed-log "$W/one.removed.jsonl" "$BENCH"
T_ONE=$(secs "$t")
echo "one process: $T_ONE s ($(jq .docs_in "$W/one.stats.json") documents)"

declare -A T_RUN T_SUM
for N in 4 7; do
  log "$N shards through Slurm"
  R=$W/run$N
  t=$(now_ms)
  "$TC" plan --run "$R" --shards "$N" --config "$CFG" --removed-log "$BENCH"
  "$TC" slurm --run "$R" -c 1 | tee "$W/jobs$N"
  wait_chain "$W/jobs$N" | tee "$W/states$N"
  T_RUN[$N]=$(secs "$t")
  grep -v ' COMPLETED $' "$W/states$N" && fail "$N shards: a job did not complete"
  check_identity "$R" "$N shards"
  T_SUM[$N]=$(jq .elapsed_secs "$R/stats.json")
done

log "a shard that fails, then is re-run alone"
N=7; K=4
R=$W/runfail
"$TC" plan --run "$R" --shards $N --config "$CFG" --removed-log "$BENCH"
# A real failure at the last moment: shard K's output part path is a non-empty
# directory, so writing its part fails.
mkdir -p "$R/clean/0000$K.jsonl/in-the-way"
"$TC" slurm --run "$R" -c 1 | tee "$W/jobsfail"
wait_chain "$W/jobsfail" | tee "$W/statesfail"
CLEAN=$(awk '$1=="clean"{print $2}' "$W/jobsfail")
# Captured first: under pipefail, `scontrol | grep -q` fails whenever grep exits at its
# match before scontrol has written its last line (SIGPIPE), which is a race.
TASKS=$(scontrol -o show job "$CLEAN")
grep -q "ArrayTaskId=$K .*JobState=FAILED\|JobState=FAILED.*ArrayTaskId=$K " <<<"$TASKS" \
  || { printf '%s\n' "$TASKS" | grep -o 'ArrayTaskId=[0-9]* \|JobState=[A-Z]*' | paste - - || true
       fail "array task $K of job $CLEAN did not fail"; }
grep -q '^merge .* CANCELLED $' "$W/statesfail" || fail "the merge job was not cancelled (--kill-on-invalid-dep)"
echo "--- log of the failed task:"; tail -n 3 "$R"/slurm/textclean-clean-*_$K.out
if "$TC" merge --run "$R" 2>"$W/merge.err"; then fail "merge accepted an incomplete run"; fi
cat "$W/merge.err"
ARRAY=$(grep -m 1 -o -- '--array=[0-9,-]*' "$W/merge.err")
[[ $ARRAY == "--array=$K" ]] || fail "merge named $ARRAY, expected --array=$K"
rm -r "$R/clean/0000$K.jsonl"
t=$(now_ms)
J=$(sbatch --parsable "$ARRAY" "$R/slurm/clean.sbatch")
M=$(sbatch --parsable --dependency=afterok:"$J" --kill-on-invalid-dep=yes "$R/slurm/merge.sbatch")
printf 'clean %s %s\nmerge %s\n' "$J" "$ARRAY" "$M" >"$W/jobsretry"
wait_chain "$W/jobsretry" | tee "$W/statesretry"
T_RETRY=$(secs "$t")
grep -v ' COMPLETED $' "$W/statesretry" && fail "the re-run did not complete"
check_identity "$R" "7 shards after re-running shard $K alone"

log "wall times (2 cores; Slurm runs 2 array tasks at a time)"
printf '%-44s %8s s\n' "one process, textclean clean" "$T_ONE"
for N in 4 7; do
  printf '%-44s %8s s  (shards summed: %.3f s)\n' "$N shards: plan + Slurm chain until merged" "${T_RUN[$N]}" "${T_SUM[$N]}"
done
printf '%-44s %8s s\n' "re-run of shard $K alone + merge" "$T_RETRY"
echo "tests/slurm.sh passed"
