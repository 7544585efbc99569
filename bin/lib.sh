# Shared by bin/run and bin/test: make sure what the console needs is installed
# and running on this machine, starting only what is missing.

PYTHON=${PYTHON:-python3}
SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null; then SUDO="sudo"; fi

apt_install() {
  echo "Installing Debian packages: $* (once; this can take a minute)…"
  if [ -z "${APT_UPDATED:-}" ]; then $SUDO apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_venv() {  # ensure_venv REQUIREMENTS_FILE
  local req=$1 stamp=.venv/.installed
  if [ ! -x .venv/bin/python ]; then
    echo "Creating the virtualenv .venv/…"
    "$PYTHON" -m venv .venv || { apt_install python3-venv; "$PYTHON" -m venv .venv; }
  fi
  local want
  want=$(cat requirements.txt "$req" | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    # pip names each package as it fetches it; the first time takes about a minute.
    echo "Installing the pinned Python packages of $req into .venv/ (once per change)…"
    local -
    set -o pipefail
    if ! .venv/bin/pip install --disable-pip-version-check --progress-bar off -r "$req" \
      | { grep --line-buffered -E '^(Collecting|Installing|Successfully)' || true; }; then
      echo "pip could not install $req (its messages are above)." >&2
      return 1
    fi
    echo "$want" > "$stamp"
  fi
}

ensure_redis() {  # ensure_redis [--attached DIR]
  # Without arguments a Redis that has to be started stays running as a daemon (the
  # tests reuse it). With --attached it is a child of this shell with its log in DIR,
  # and REDIS_PID names it, so that whoever started it can stop it.
  REDIS_PID=""
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then return; fi
  command -v redis-server >/dev/null || apt_install redis-server
  local options=(--bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no)
  if [ "${1:-}" = "--attached" ]; then
    echo "Starting Redis on 127.0.0.1:6379 (log: $2/redis.log)…"
    redis-server "${options[@]}" --dir "$2" --logfile redis.log &
    REDIS_PID=$!
  else
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes "${options[@]}" --dir /var/lib/redis \
      --logfile /var/log/redis/ci.log
  fi
  for _ in $(seq 50); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && return; sleep 0.1; done
  echo "Redis did not start" >&2; return 1
}

ensure_postgres() {
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then return; fi
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    apt_install postgresql
    local conf
    conf=$(ls -d /etc/postgresql/*/main | head -1)
    # Local test database only: trust connections from this machine.
    printf 'local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n' \
      > "$conf/pg_hba.conf"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  for _ in $(seq 100); do pg_isready -q -h 127.0.0.1 -p 5432 && return; sleep 0.1; done
  echo "PostgreSQL did not start" >&2; return 1
}

ensure_chromium() {
  [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || apt_install chromium
  # A font with Chinese glyphs, so the Chinese pages (and their screenshots) show
  # characters rather than empty boxes.
  fc-list :lang=zh 2>/dev/null | grep -q . || apt_install fonts-wqy-microhei
}

# GNU gettext: the translation tests compare the Chinese catalogue with what
# `manage.py makemessages` finds marked in the code.
ensure_gettext() {
  command -v msgfmt >/dev/null && command -v xgettext >/dev/null || apt_install gettext
}

# axe-core, which the accessibility tests load into Chromium: from the npm registry,
# at the version package-lock.json pins, once per change of the lock.
ensure_axe() {
  command -v npm >/dev/null || apt_install nodejs npm
  local want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ "$(cat node_modules/.installed 2>/dev/null)" != "$want" ]; then
    echo "Installing axe-core from the npm registry into node_modules/ (once per change)…"
    npm ci --no-audit --no-fund --silent
    echo "$want" >node_modules/.installed
  fi
}

# Process trees, read from /proc: bin/run stops what it started by these, whichever
# process group it was started in.
parent_of() {  # parent_of PID (nothing when it is gone)
  local stat
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 0
  # The command name in parentheses may hold spaces; the state and the parent follow.
  stat=${stat##*) }
  stat=${stat#* }
  echo "${stat%% *}"
}

children_of() {  # children_of PID
  local entry stat
  for entry in /proc/[0-9]*/stat; do
    { read -r stat <"$entry"; } 2>/dev/null || continue
    stat=${stat##*) }
    stat=${stat#* }
    if [ "${stat%% *}" = "$1" ]; then entry=${entry#/proc/}; echo "${entry%/stat}"; fi
  done
}

kill_tree() {  # kill_tree SIGNAL PID...: the processes and everything below them
  local signal=$1 pid
  shift
  for pid in "$@"; do
    # Children first, listed before their parent goes and they are handed to init.
    # shellcheck disable=SC2046
    kill_tree "$signal" $(children_of "$pid")
    kill "-$signal" "$pid" 2>/dev/null || true
  done
}

supervise() {  # supervise LOG COMMAND...: run in the background; runs COMMAND, and
  # again each time it exits (a worker or beat that its liveness watchdog ended, a
  # crash), its output added to LOG, until this is sent TERM or INT (then it stops
  # COMMAND and waits for it).
  local log=$1 child="" status
  shift
  trap 'if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null; wait "$child"; fi; exit 0' \
    TERM INT
  while :; do
    "$@" >>"$log" 2>&1 &
    child=$!
    status=0
    wait "$child" || status=$?
    child=""
    echo "$(date '+%F %T') ${*:1:4} exited ($status); starting it again" >>"$log"
    sleep 1
  done
}

watch_over() {  # watch_over PID...: run in the background; stops the PIDs if $$ dies
  local me=$$ self=$BASHPID
  while [ "$(parent_of "$self")" = "$me" ]; do sleep 1; done
  kill_tree TERM "$@"
}
