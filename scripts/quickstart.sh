#!/usr/bin/env bash
# Quick start: installs the build dependencies, builds lifeboat (Release) and
# runs its main job on an embedded sample web application — backs it up into
# a local repository, changes it, backs it up again, restores the latest
# snapshot elsewhere and shows that the restored tree matches the original.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DLIFEBOAT_BUILD_TESTS=OFF -DLIFEBOAT_BUILD_BENCH=OFF >/dev/null
cmake --build build-release --target lifeboat
LB="$PWD/build-release/src/cli/lifeboat"

WORK=${QUICKSTART_DIR:-/tmp/lifeboat-quickstart}
rm -rf "$WORK"
mkdir -p "$WORK"
APP="$WORK/shop"

echo "== creating a sample web application in $APP"
mkdir -p "$APP"/{src/controllers,src/views,config,public/uploads/2026/11,db,logs,empty-dir}
for i in $(seq 1 40); do
  printf 'class Controller%d:\n    def handle(self, request):\n        return render("view%d.html", id=%d)\n' \
    "$i" "$i" "$i" >"$APP/src/controllers/controller_$i.py"
  printf '<html><body><h1>Page %d</h1></body></html>\n' "$i" >"$APP/src/views/view$i.html"
done
printf '[server]\nport = 8080\nworkers = 4\n' >"$APP/config/app.toml"
printf 'DATABASE_URL=postgres://shop@localhost/shop\n' >"$APP/config/.env"
chmod 600 "$APP/config/.env"
for i in $(seq 1 12); do head -c $((50000 + i * 7000)) /dev/urandom >"$APP/public/uploads/2026/11/photo_$i.jpg"; done
for i in $(seq 1 20000); do echo "INSERT INTO orders VALUES ($i, 'customer$((i % 97))', $((i * 3 % 1000)).99);"; done >"$APP/db/dump.sql"
cp "$APP/public/uploads/2026/11/photo_1.jpg" "$APP/public/uploads/2026/11/photo_1_copy.jpg"
ln -s ../config/app.toml "$APP/src/settings.toml"
ln "$APP/db/dump.sql" "$APP/db/dump-hardlink.sql"
: >"$APP/logs/empty.log"
du -sh "$APP"

export LIFEBOAT_REPOSITORY="$WORK/repo"
umask 077
head -c 24 /dev/urandom | base64 >"$WORK/password"
export LIFEBOAT_PASSWORD_FILE="$WORK/password"

echo; echo "== lifeboat init"
"$LB" init
echo; echo "== lifeboat backup (first: full)"
"$LB" backup "$APP" --tag quickstart
echo "a new order" >>"$APP/db/dump.sql"
echo; echo "== lifeboat backup (second: incremental, only the change is stored)"
"$LB" backup "$APP" --tag quickstart
echo; echo "== lifeboat snapshots"
"$LB" snapshots
echo; echo "== lifeboat restore latest --target $WORK/restore --verify"
"$LB" restore latest --target "$WORK/restore" --verify
echo; echo "== lifeboat check --read-data"
"$LB" check --read-data
echo; echo "== lifeboat stats"
"$LB" stats

echo; echo "== comparing the restored tree with the original"
manifest() {
  (cd "$1" && find . -printf '%p %y %m %U %G %s %T@ %l\n' | sort)
}
diff -r "$APP" "$WORK/restore$APP"
diff <(manifest "$APP") <(manifest "$WORK/restore$APP")
echo "restored tree matches the original: contents, types, modes, owners, times and links"
