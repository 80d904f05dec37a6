# Parts of a script that run side by side, sourced by scripts/setup.sh (which sets LOGS, a folder of its own):
# each part prints one line as it ends, with its wall time; a part that fails names itself and its log, and the
# others are stopped.
declare -A LABEL=() STARTED=() FINISHED=()

# start KEY LABEL FUNCTION: runs FUNCTION in the background, its output in $LOGS/KEY.log; the second it ended (or
# failed) goes into $LOGS/KEY.ended, so that its line says how long it took, not when the setup looked. Each part is
# a process group of its own (job control while it starts: on after, bash would print a line when one fails), so
# that a failure stops the parts' own children too.
start() {
  LABEL[$1]="$2"
  set -m
  ( trap "echo \$SECONDS >$(printf %q "$LOGS/$1.ended")" EXIT; "$3" ) >"$LOGS/$1.log" 2>&1 &
  set +m
  STARTED[$1]="$! $SECONDS"
}

# report KEY STATUS: the part's line; a part that failed stops the others and the setup
report() {
  local began="${STARTED[$1]#* }" other
  FINISHED[$1]=1
  if [ "$2" -eq 0 ]; then
    printf '== setup: %s (%d s)\n' "${LABEL[$1]}" "$(($(cat "$LOGS/$1.ended") - began))"
    return
  fi
  printf 'setup: %s failed; its log: %s\n' "${LABEL[$1]}" "$LOGS/$1.log" >&2
  tail -n 20 "$LOGS/$1.log" >&2
  for other in "${!STARTED[@]}"; do
    [ -n "${FINISHED[$other]:-}" ] || kill -- "-${STARTED[$other]%% *}" 2>/dev/null || true
  done
  exit 1
}

# finish KEY...: waits for the parts named (those started and not yet reported); each part, named or not, is reported
# once it has ended, in the order the parts ended
finish() {
  local key status waiting
  while :; do
    for key in "${!STARTED[@]}"; do  # a part killed by a signal it cannot trap (KILL) wrote no end: it ended now
      [ -n "${FINISHED[$key]:-}" ] || [ -f "$LOGS/$key.ended" ] || kill -0 "${STARTED[$key]%% *}" 2>/dev/null \
        || echo "$SECONDS" >"$LOGS/$key.ended"
    done
    for key in $(for key in "${!STARTED[@]}"; do
                   [ -z "${FINISHED[$key]:-}" ] && [ -f "$LOGS/$key.ended" ] && echo "$(cat "$LOGS/$key.ended") $key"
                 done | sort -n | cut -d' ' -f2); do
      status=0
      wait "${STARTED[$key]%% *}" 2>/dev/null || status=$?  # bash keeps the status of a child it already reaped
      report "$key" "$status"
    done
    waiting=()
    for key in "$@"; do
      [ -z "${STARTED[$key]:-}" ] || [ -n "${FINISHED[$key]:-}" ] || waiting+=("${STARTED[$key]%% *}")
    done
    [ ${#waiting[@]} -gt 0 ] || return 0
    # Looked at again shortly: wait -n would miss a part that bash reaped in between, and wait for another.
    sleep 0.2
  done
}
