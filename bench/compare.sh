#!/usr/bin/env bash
# Before and after: today's desk bench against the services of an older commit and of
# HEAD, run one after the other (A B A B ...) so the machine's swings hit both alike.
#
#   bench/compare.sh OLD_COMMIT [ROUNDS] [-- desk bench options]
#   bench/compare.sh 51d50f7 2 -- --events 100000 --seconds 10 --rates 10,25
#
# Each side is a git worktree (in $COMPARE_DIR, default /tmp/library-compare) with
# HEAD's bench/ copied in, so only the services differ. Every run's JSON is kept there;
# the medians per side are printed and written to bench/results/compare.json.
set -euo pipefail

old=${1:?usage: bench/compare.sh OLD_COMMIT [ROUNDS] [-- desk options]}
shift
rounds=2
if [ $# -gt 0 ] && [ "$1" != "--" ]; then rounds=$1; shift; fi
[ "${1:-}" = "--" ] && shift
options=("$@")
[ ${#options[@]} -gt 0 ] || options=(--events 100000 --seconds 10 --rates 10,25)

repo=$(git rev-parse --show-toplevel)
python="$repo/.venv/bin/python"
work=${COMPARE_DIR:-/tmp/library-compare}
mkdir -p "$work/runs"

for side in before after; do
    commit=$old
    [ "$side" = after ] && commit=$(git -C "$repo" rev-parse HEAD)
    if [ -d "$work/$side" ]; then
        git -C "$work/$side" checkout -q --force --detach "$commit"
    else
        git -C "$repo" worktree add -f --detach "$work/$side" "$commit" >/dev/null
    fi
    rm -rf "$work/$side/bench" && cp -r "$repo/bench" "$work/$side/bench"
done

for round in $(seq 1 "$rounds"); do
    for side in before after; do
        echo "[compare] round $round/$rounds: $side"
        (cd "$work/$side" && "$python" -m bench.desk --runs 1 "${options[@]}" \
            >"$work/runs/$side-$round.log" 2>&1)
        cp "$work/$side/bench/results/desk.json" "$work/runs/$side-$round.json"
    done
done

"$python" -m bench.compare "$work/runs" "$repo/bench/results/compare.json" "$old"
