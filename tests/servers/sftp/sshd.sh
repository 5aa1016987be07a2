#!/usr/bin/env bash
# Test sshd servers for the SFTP backend tests, on 127.0.0.1 only.
#
#   sshd.sh setup ENVFILE      make a temp dir with host/client keys, the test
#                              user, known_hosts; start the "main" and the
#                              "appendonly" servers; write KEY=VALUE lines to
#                              ENVFILE (or SKIP=reason when impossible: not
#                              root, no sshd). Always exits 0 unless broken.
#   sshd.sh teardown ENVFILE   stop every server started from ENVFILE's dir
#                              (by PID, with their session processes) and
#                              remove the dir and ENVFILE.
#   sshd.sh start NAME PORT DIR [append-only]   start one more server
#   sshd.sh stop NAME DIR      kill one server and its sessions (SIGKILL:
#                              simulates a crash); waits until they are gone
#   sshd.sh signal NAME DIR SIG   send SIG (STOP, CONT) to a server and its
#                              sessions (STOP simulates a hung server)
#
# Recipe and gotchas: /work/shared/SERVERS.md §2. The append-only server
# runs `internal-sftp -P <denied requests>` as ForceCommand, so the test
# user cannot bypass it with a shell command either.
set -euo pipefail

TEST_USER=bktest
SSHD=/usr/sbin/sshd
# Requests an append-only server refuses (names from sftp-server -Q requests,
# OpenSSH 9.2): nothing existing can be deleted, renamed, re-moded,
# truncated (files are created 0400 and setstat is denied) or replaced.
APPEND_ONLY_DENY=remove,rmdir,rename,posix-rename,setstat,fsetstat,lsetstat,symlink,copy-data

die() { echo "sshd.sh: $*" >&2; exit 1; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pick_port() {  # first free port at or above $1
  local p=$1
  while ! port_free "$p"; do p=$((p + 1)); [ "$p" -lt $(($1 + 200)) ] || die "no free port near $1"; done
  echo "$p"
}

# All descendants of a PID (sshd forks a process per connection).
descendants() {
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    echo "$child"
    descendants "$child"
  done
}

start_one() {  # NAME PORT DIR [append-only]
  local name=$1 port=$2 dir=$3 mode=${4:-}
  local sftp="internal-sftp"
  [ "$mode" = append-only ] && sftp="internal-sftp -P $APPEND_ONLY_DENY"
  local args=(-f /dev/null -h "$dir/hostkey" -p "$port" -o ListenAddress=127.0.0.1
    -o "PidFile=$dir/$name.pid" -o UsePAM=no -o PasswordAuthentication=no
    -o KbdInteractiveAuthentication=no -o PermitRootLogin=no -o "AllowUsers=$TEST_USER"
    -o DisableForwarding=yes -o PermitTTY=no -o MaxStartups=100 -o LogLevel=VERBOSE
    -o "Subsystem=sftp $sftp")
  [ "$mode" = append-only ] && args+=(-o "ForceCommand=$sftp")
  "$SSHD" -t "${args[@]}" || die "sshd rejects the configuration for $name"
  "$SSHD" -D -E "$dir/$name.log" "${args[@]}" </dev/null >>"$dir/$name.log" 2>&1 &
  echo $! >"$dir/$name.master"
  local i
  for i in $(seq 1 100); do  # at most 5 s
    if ! port_free "$port"; then return 0; fi
    kill -0 "$(cat "$dir/$name.master")" 2>/dev/null || die "sshd $name exited; see $dir/$name.log"
    sleep 0.05
  done
  die "sshd $name not listening on $port after 5 s"
}

# True while PID exists and is not a zombie (killed children of a server
# started by another shell are reaped by init, possibly later).
running() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "${state:0:1}" != Z ]
}

stop_one() {  # NAME DIR
  local name=$1 dir=$2 master pids p i
  [ -f "$dir/$name.master" ] || return 0
  master=$(cat "$dir/$name.master")
  if kill -0 "$master" 2>/dev/null; then
    pids="$master $(descendants "$master")"
    kill -KILL $pids 2>/dev/null || true
    for i in $(seq 1 100); do
      local alive=0
      for p in $pids; do running "$p" && alive=1; done
      [ $alive = 0 ] && break
      sleep 0.05
    done
  fi
  wait "$master" 2>/dev/null || true
  rm -f "$dir/$name.master" "$dir/$name.pid"
}

signal_one() {  # NAME DIR SIG
  local master
  master=$(cat "$2/$1.master") || die "no server $1 in $2"
  # Descendants may exit meanwhile: a failure for those is expected.
  kill -"$3" "$master" $(descendants "$master") 2>/dev/null || true
}

cmd_setup() {
  local envfile=$1
  rm -f "$envfile"
  if [ "$(id -u)" != 0 ]; then echo "SKIP=the sshd test servers need root (to add user $TEST_USER)" >"$envfile"; exit 0; fi
  if [ ! -x "$SSHD" ]; then echo "SKIP=$SSHD is missing (apt-get install openssh-server)" >"$envfile"; exit 0; fi
  command -v ssh-keygen >/dev/null || { echo "SKIP=ssh-keygen is missing" >"$envfile"; exit 0; }

  local dir
  dir=$(mktemp -d /tmp/lifeboat-sftp-XXXXXX)
  chmod 711 "$dir"  # the test user traverses it to reach repos/
  mkdir -p /run/sshd
  for k in hostkey hostkey_other client_key other_key; do
    ssh-keygen -q -t ed25519 -N '' -C "lifeboat-test-$k" -f "$dir/$k"
  done
  local passphrase="lifeboat test passphrase"
  ssh-keygen -q -t ed25519 -N "$passphrase" -C lifeboat-test-encrypted -f "$dir/client_key_encrypted"

  if ! id "$TEST_USER" >/dev/null 2>&1; then
    useradd -m -s /bin/sh "$TEST_USER"
  fi
  usermod -p '*' "$TEST_USER"  # no password, but not "locked" (sshd refuses locked users)
  local home
  home=$(getent passwd "$TEST_USER" | cut -d: -f6)
  install -d -m700 -o "$TEST_USER" -g "$TEST_USER" "$home/.ssh"
  cat "$dir/client_key.pub" "$dir/client_key_encrypted.pub" >"$dir/authorized_keys"
  install -m600 -o "$TEST_USER" -g "$TEST_USER" "$dir/authorized_keys" "$home/.ssh/authorized_keys"
  install -d -m700 -o "$TEST_USER" -g "$TEST_USER" "$dir/repos"

  # Spare ports: for servers the tests start, kill and restart themselves,
  # and one left closed (connection refused).
  # Below the kernel's ephemeral range (ip_local_port_range, 32768-60999 by
  # default): the spare ports are bound only when a test starts its server,
  # and meanwhile no outgoing connection of a parallel test, nor a server
  # started on "any free port" (bind to port 0), can be given them. Such a
  # collision is the likely cause of SpareServerTest failing once at its
  # first start when these ports were in that range (42022 on).
  local port append_port spare_port spare_port2 closed_port
  port=$(pick_port 22022)
  start_one main "$port" "$dir"
  append_port=$(pick_port $((port + 1)))
  start_one appendonly "$append_port" "$dir" append-only
  spare_port=$(pick_port $((append_port + 1)))
  spare_port2=$(pick_port $((spare_port + 1)))
  closed_port=$(pick_port $((spare_port2 + 1)))

  # known_hosts lines written from the host key itself (what ssh-keyscan
  # would fetch), for every port; and a file with a different key.
  local pub other p
  pub=$(cut -d' ' -f1,2 "$dir/hostkey.pub")
  other=$(cut -d' ' -f1,2 "$dir/hostkey_other.pub")
  : >"$dir/known_hosts"
  for p in "$port" "$append_port" "$spare_port" "$spare_port2" "$closed_port"; do echo "[127.0.0.1]:$p $pub" >>"$dir/known_hosts"; done
  echo "[127.0.0.1]:$port $other" >"$dir/known_hosts_changed"
  : >"$dir/known_hosts_empty"

  cat >"$envfile" <<EOF
DIR=$dir
USER=$TEST_USER
HOME_DIR=$home
PORT=$port
APPEND_PORT=$append_port
SPARE_PORT=$spare_port
SPARE_PORT2=$spare_port2
CLOSED_PORT=$closed_port
REPO_BASE=$dir/repos
CLIENT_KEY=$dir/client_key
CLIENT_KEY_ENCRYPTED=$dir/client_key_encrypted
KEY_PASSPHRASE=$passphrase
OTHER_KEY=$dir/other_key
KNOWN_HOSTS=$dir/known_hosts
KNOWN_HOSTS_CHANGED=$dir/known_hosts_changed
KNOWN_HOSTS_EMPTY=$dir/known_hosts_empty
SCRIPT=$(readlink -f "$0")
EOF
  echo "sftp test servers: main on 127.0.0.1:$port, append-only on 127.0.0.1:$append_port ($dir)"
}

cmd_teardown() {
  local envfile=$1 dir
  [ -f "$envfile" ] || exit 0
  dir=$(sed -n 's/^DIR=//p' "$envfile")
  if [ -n "$dir" ] && [ -d "$dir" ]; then
    for m in "$dir"/*.master; do
      [ -e "$m" ] || continue
      stop_one "$(basename "$m" .master)" "$dir"
    done
    rm -rf "$dir"
  fi
  rm -f "$envfile"
}

case "${1:-}" in
  setup) [ $# = 2 ] || die "usage: sshd.sh setup ENVFILE"; cmd_setup "$2" ;;
  teardown) [ $# = 2 ] || die "usage: sshd.sh teardown ENVFILE"; cmd_teardown "$2" ;;
  start) [ $# -ge 4 ] || die "usage: sshd.sh start NAME PORT DIR [append-only]"; start_one "$2" "$3" "$4" "${5:-}" ;;
  stop) [ $# = 3 ] || die "usage: sshd.sh stop NAME DIR"; stop_one "$2" "$3" ;;
  signal) [ $# = 4 ] || die "usage: sshd.sh signal NAME DIR SIG"; signal_one "$2" "$3" "$4" ;;
  *) die "usage: sshd.sh setup|teardown ENVFILE | start NAME PORT DIR [append-only] | stop NAME DIR" ;;
esac
