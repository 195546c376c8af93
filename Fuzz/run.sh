#!/usr/bin/env bash
# Builds the libFuzzer harnesses (debug, -sanitize=fuzzer,address, scratch folder Fuzz/.build, never the main
# .build) and runs each for FUZZ_SECONDS. Exits non-zero when a harness finds a crash, a hang (-timeout), a leak
# (LeakSanitizer) or runs out of memory (-rss_limit_mb); the input that did it is kept under Fuzz/.build/artifacts/.
#
#   Fuzz/run.sh                      every harness, FUZZ_SECONDS each (default 20, as `make fuzz-ci` in `make test`)
#   FUZZ_SECONDS=600 Fuzz/run.sh     the long run of `make fuzz`
#   Fuzz/run.sh event config         only those harnesses (event, command, config, scenario)
#
# FUZZ_JOBS harnesses run at a time (default: the number of cores), each one process.
#
# Seeds come from Fuzz/Corpus/<harness>/ (read only); what a run discovers goes to Fuzz/.build/corpus/<harness>/,
# so later runs start from there. A summary line per harness goes to stdout and to Fuzz/.build/last-run.txt.
set -uo pipefail
cd "$(dirname "$0")"
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
SCRATCH=${FUZZ_SCRATCH:-.build}
SWIFT=${SWIFT:-swift}
HARNESSES=("$@")
[ ${#HARNESSES[@]} -gt 0 ] || HARNESSES=(event command config scenario)
for h in "${HARNESSES[@]}"; do
    case $h in
        event | command | config | scenario) ;;
        *) echo "fuzz: unknown harness $h (expected event, command, config or scenario)" >&2; exit 2 ;;
    esac
done

started=$(date +%s)
# `--sanitize fuzzer` makes SwiftPM link libFuzzer's `main` in place of the executables' own entry point. The
# compile jobs get one `-sanitize=fuzzer,address`: as two flags (`--sanitize fuzzer --sanitize address`) only one
# of them reaches swift-frontend, and then the code has no coverage counters or no ASan. C code (libyaml in Yams)
# is instrumented the same way.
$SWIFT build -c debug --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address \
    --scratch-path "$SCRATCH" 2>&1 | grep -v -E "Cannot export local symbol|^\[[0-9]+/[0-9]+\] "
if [ "${PIPESTATUS[0]}" -ne 0 ]; then
    echo "fuzz: the build failed" >&2
    exit 1
fi
bin="$SCRATCH/debug"
for h in "${HARNESSES[@]}"; do
    [ -x "$bin/fuzz-$h" ] || { echo "fuzz: build failed (no $bin/fuzz-$h)" >&2; exit 1; }
done
echo "fuzz: build took $(( $(date +%s) - started )) s"

# Swift's own crash backtracer would wait on a crashing harness; libFuzzer and ASan report instead.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}

summary="$SCRATCH/last-run.txt"
: > "$summary"

# Runs one harness; prints and records its summary line; returns libFuzzer's exit status.
run_one() {
    local h=$1 dict max_len
    case $h in
        event | command) dict=Dictionaries/json.dict max_len=4096 ;;
        *) dict=Dictionaries/yaml.dict max_len=16384 ;;
    esac
    local work="$SCRATCH/corpus/$h" artifacts="$SCRATCH/artifacts/$h" log="$SCRATCH/logs/$h.log"
    mkdir -p "$work" "$artifacts" "$(dirname "$log")"
    "$bin/fuzz-$h" "$work" "Corpus/$h" \
        -dict="$dict" -max_len=$max_len -timeout=2 -rss_limit_mb=2048 -detect_leaks=1 \
        -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 -artifact_prefix="$artifacts/" > "$log" 2>&1
    local status=$?
    local done_line runs cov ft corp seeds
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
    runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<< "$done_line")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<< "$done_line")
    corp=$(sed -nE 's/.* corp: ([0-9]+\/[0-9]+[a-zA-Z]*).*/\1/p' <<< "$done_line")
    seeds=$(ls "Corpus/$h" | wc -l)
    local line="$h: exit $status, ${FUZZ_SECONDS} s, ${runs:-?} runs, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?} (seeds $seeds)"
    echo "fuzz: $line"
    echo "$line" >> "$summary"
    if [ $status -ne 0 ]; then
        echo "fuzz: $h FAILED; the end of Fuzz/$log:" >&2
        tail -40 "$log" >&2
        ls -l "$artifacts" >&2
    fi
    return $status
}

# FUZZ_JOBS harnesses at a time (default: one per core).
jobs=${FUZZ_JOBS:-$(nproc)}
echo "fuzz: ${#HARNESSES[@]} harnesses, ${FUZZ_SECONDS} s each, $jobs at a time"
failed=0
pids=()
for h in "${HARNESSES[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 1; done
    run_one "$h" &
    pids+=($!)
done
for pid in "${pids[@]}"; do
    wait "$pid" || failed=1
done
echo "fuzz: total $(( $(date +%s) - started )) s"
exit $failed
