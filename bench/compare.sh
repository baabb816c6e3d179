#!/usr/bin/env bash
# Before and after: today's desk bench against the services of an older commit and of
# HEAD, run one after the other (A B A B ...) so the machine's swings hit both alike.
#
#   bench/compare.sh [--http] OLD_COMMIT [ROUNDS] [-- bench options]
#   bench/compare.sh 51d50f7 2 -- --events 100000 --seconds 10 --rates 10,25
#   bench/compare.sh --http 51d50f7 3 -- --seconds 15   # the HTTP desk bench (bench.http_desk)
#
# COMPARE_AFTER=<commit> compares against that commit instead of HEAD (one change alone).
# Each side is a git worktree (in $COMPARE_DIR, default /tmp/library-compare) with
# HEAD's bench/ copied in, so only the services differ. Every run's JSON is kept there;
# the medians per side are printed and written to bench/results/compare.json
# (compare_http.json with --http).
set -euo pipefail

bench=desk
if [ "${1:-}" = "--http" ]; then bench=http_desk; shift; fi
old=${1:?usage: bench/compare.sh [--http] OLD_COMMIT [ROUNDS] [-- bench options]}
shift
rounds=2
if [ $# -gt 0 ] && [ "$1" != "--" ]; then rounds=$1; shift; fi
[ "${1:-}" = "--" ] && shift
options=("$@")
if [ ${#options[@]} -eq 0 ]; then
    options=(--events 100000 --seconds 10 --rates 10,25)
    [ "$bench" = http_desk ] && options=(--seconds 15)
fi

repo=$(git rev-parse --show-toplevel)
python="$repo/.venv/bin/python"
work=${COMPARE_DIR:-/tmp/library-compare}
[ "$bench" = http_desk ] && work=${COMPARE_DIR:-/tmp/library-compare-http}
rm -rf "$work/runs"
mkdir -p "$work/runs"

# Both commits named as this checkout reads them: inside a worktree, HEAD~1 would be
# the parent of whatever that worktree had checked out the last time.
before_commit=$(git -C "$repo" rev-parse --verify "$old^{commit}")
after_commit=$(git -C "$repo" rev-parse --verify "${COMPARE_AFTER:-HEAD}^{commit}")
for side in before after; do
    commit=$before_commit
    [ "$side" = after ] && commit=$after_commit
    if [ -d "$work/$side" ]; then
        git -C "$work/$side" checkout -q --force --detach "$commit"
    else
        git -C "$repo" worktree add -f --detach "$work/$side" "$commit" >/dev/null
    fi
    rm -rf "$work/$side/bench" && cp -r "$repo/bench" "$work/$side/bench"
done

for round in $(seq 1 "$rounds"); do
    for side in before after; do
        echo "[compare] round $round/$rounds: $side (load average $(cut -d' ' -f1-3 /proc/loadavg))"
        if [ "$bench" = desk ]; then
            (cd "$work/$side" && "$python" -m bench.desk --runs 1 "${options[@]}" \
                >"$work/runs/$side-$round.log" 2>&1)
            cp "$work/$side/bench/results/desk.json" "$work/runs/$side-$round.json"
        else
            (cd "$work/$side" && "$python" -m bench.http_desk --runs 1 "${options[@]}" \
                --out "$work/runs/$side-$round.json" >"$work/runs/$side-$round.log" 2>&1)
        fi
    done
done

out=$repo/bench/results/compare.json
[ "$bench" = http_desk ] && out=$repo/bench/results/compare_http.json
"$python" -m bench.compare "$work/runs" "$out" "$old" "${COMPARE_AFTER:-HEAD}"
