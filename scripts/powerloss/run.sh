#!/usr/bin/env bash
# Simulated power loss of the sled store under LazyFS. A manual tool, not part of the test suite.
#
# Each cut: mount LazyFS over a fresh data dir, run `powerloss_writer write` (WRITERS concurrent
# writers, each printing a key only after its commit was acknowledged), freeze it mid-stream
# (SIGSTOP), send `lazyfs::clear-cache` to LazyFS's fault FIFO while its writes are in flight
# (LazyFS drops every byte not yet fsynced), kill -9 the writer, unmount (LazyFS drops its cache again, it never
# flushes on exit), remount, reopen the store with `powerloss_writer check` and count the
# acknowledged keys that are missing or wrong. A durable store loses none.
#
# Usage (as root, or a user allowed to mount FUSE with allow_other):
#   scripts/powerloss/run.sh [CUTS]                       # default 5 cuts
# Environment:
#   LAZYFS     the lazyfs binary (default /tmp/lazyfs-build/lazyfs/lazyfs/build/lazyfs)
#   WRITER     a built powerloss_writer (default: `cargo build --release -p vault-core
#              --example powerloss_writer` and target/<host triple>/release/examples/powerloss_writer)
#   WRITERS    concurrent writers (16)       RUN_SECS  seconds of writing before the cut (4)
#   BIG_EVERY  every Nth key of a writer gets a 200 KiB value, a sled blob file (0 = never)
#   WORK       scratch dir (/tmp/vault-powerloss); ROOT, MNT, FIFOs and logs go there
#   CUT_MODE   `stop` (default) or `live`: clear the cache without freezing the writer first
#
# Needs: Debian `fuse3 libfuse3-dev cmake g++` and a LazyFS build (dsrhaslab/lazyfs with
# toml11 v3.7.1 and spdlog v1.10.0 given to CMake via -DFETCHCONTENT_FULLY_DISCONNECTED=ON
# -DFETCHCONTENT_SOURCE_DIR_TOML=... -DFETCHCONTENT_SOURCE_DIR_SPDLOG=...; build libs/libpcache
# then lazyfs with -DLAZYFS_BUILD_TESTS=OFF).
# To compare with the code before a change, build the writer from that commit and pass it as
# WRITER. A store that no longer opens counts every acknowledged key as lost.
# Output: one line per cut, `cut N: acknowledged=A missing=M wrong=W (...)`, then the totals;
# lost keys go to $WORK/check.N.err and the data dir of a lossy cut is kept in $WORK/failed.N.
# The exit status is 1 when any acknowledged key was lost.
set -euo pipefail
cd "$(dirname "$0")/../.."

CUTS=${1:-5}
LAZYFS=${LAZYFS:-/tmp/lazyfs-build/lazyfs/lazyfs/build/lazyfs}
WRITERS=${WRITERS:-16}
RUN_SECS=${RUN_SECS:-4}
BIG_EVERY=${BIG_EVERY:-0}
WORK=${WORK:-/tmp/vault-powerloss}
if [[ -z "${WRITER:-}" ]]; then
    cargo build --release -q -p vault-core --example powerloss_writer
    WRITER=${CARGO_TARGET_DIR:-$PWD/target}/$(rustc -vV | sed -n 's/^host: //p')/release/examples/powerloss_writer
fi
[[ -x "$LAZYFS" ]] || { echo "no lazyfs binary at $LAZYFS" >&2; exit 2; }

ROOT=$WORK/root MNT=$WORK/mnt FIFO=$WORK/faults.fifo DONE=$WORK/faults-done.fifo
mkdir -p "$WORK" "$MNT"
LAZYFS_PID=

cat >"$WORK/lazyfs.toml" <<EOF
[faults]
fifo_path="$FIFO"
fifo_path_completed="$DONE"
[cache]
apply_eviction=false
[cache.simple]
custom_size="2gb"
blocks_per_page=1
[filesystem]
log_all_operations=false
logfile=""
EOF

mount_lazyfs() {
    [[ -p $FIFO ]] || mkfifo "$FIFO"
    [[ -p $DONE ]] || mkfifo "$DONE"
    # Read end of the completion FIFO, opened read-write so that neither side blocks.
    exec 9<>"$DONE"
    "$LAZYFS" "$MNT" --config-path "$WORK/lazyfs.toml" -o allow_other -o modules=subdir \
        -o subdir="$ROOT" -f >>"$WORK/lazyfs.log" 2>&1 &
    LAZYFS_PID=$!
    for _ in $(seq 100); do mountpoint -q "$MNT" && return 0; sleep 0.1; done
    echo "lazyfs did not mount (see $WORK/lazyfs.log)" >&2
    exit 2
}

umount_lazyfs() {
    fusermount3 -u "$MNT" 2>/dev/null || umount "$MNT"
    wait "$LAZYFS_PID" 2>/dev/null || true
    exec 9<&-
    LAZYFS_PID=
}

cleanup() {
    if [[ -n "${WRITER_PID:-}" ]]; then kill -9 "$WRITER_PID" 2>/dev/null || true; fi
    if [[ -n "$LAZYFS_PID" ]]; then umount_lazyfs; fi
}
trap cleanup EXIT

total_acked=0 total_lost=0
for cut in $(seq "$CUTS"); do
    rm -rf "$ROOT" && mkdir -p "$ROOT"
    mount_lazyfs
    "$WRITER" write "$MNT/data" "$WRITERS" "$BIG_EVERY" >"$WORK/acked.$cut" 2>"$WORK/writer.$cut.err" &
    WRITER_PID=$!
    sleep "$RUN_SECS"
    kill -0 "$WRITER_PID" || { echo "writer exited early: $(cat "$WORK/writer.$cut.err")" >&2; exit 2; }
    # The cut: drop everything not fsynced while commits are in flight. A power cut also stops
    # the writer at that instant, so it is frozen first: left running, it would go on past the
    # cut on page-cache pages the kernel already counts as written, and its next fdatasync would
    # "persist" data LazyFS had just dropped, which no real crash can do (CUT_MODE=live shows it).
    [[ ${CUT_MODE:-stop} == live ]] || kill -STOP "$WRITER_PID"
    echo "lazyfs::clear-cache" >"$FIFO"
    read -r -t 30 done_msg <&9 || { echo "lazyfs did not confirm clear-cache" >&2; exit 2; }
    acked_at_cut=$(wc -l <"$WORK/acked.$cut")
    kill -9 "$WRITER_PID"
    wait "$WRITER_PID" 2>/dev/null || true
    WRITER_PID=
    umount_lazyfs

    mount_lazyfs
    result=$("$WRITER" check "$MNT/data" <"$WORK/acked.$cut" 2>"$WORK/check.$cut.err" || true)
    umount_lazyfs
    echo "cut $cut: $(head -c 300 <<<"$result") (acknowledged after the cut: $(($(wc -l <"$WORK/acked.$cut") - acked_at_cut)))"
    acked=$(sed -n 's/.*acknowledged=\([0-9]*\).*/\1/p' <<<"$result")
    missing=$(sed -n 's/.*missing=\([0-9]*\).*/\1/p' <<<"$result")
    wrong=$(sed -n 's/.*wrong=\([0-9]*\).*/\1/p' <<<"$result")
    if [[ -z "$acked" ]]; then
        echo "  store did not reopen ($(grep -m1 -E 'panicked|failed' "$WORK/check.$cut.err" || true))"
        echo "  counting every acknowledged key as lost"
        acked=$(grep -c . "$WORK/acked.$cut" || true)
        missing=$acked wrong=0
    fi
    if [[ $((missing + wrong)) -gt 0 ]]; then
        echo "  lost keys in $WORK/check.$cut.err; data kept in $WORK/failed.$cut"
        rm -rf "$WORK/failed.$cut" && cp -a "$ROOT" "$WORK/failed.$cut"
    fi
    total_acked=$((total_acked + acked))
    total_lost=$((total_lost + missing + wrong))
done
echo "total: lost $total_lost of $total_acked acknowledged writes over $CUTS cuts"
[[ $total_lost -eq 0 ]]
