#!/bin/sh
# demo.sh - the README's demo: install the build dependencies, build, sync
# the bundled sample M2S answer over file://, deliver the bundled sample post
# with a capturing sendmail, and print the message as a member receives it.
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
sh contrib/scripts/install-deps
[ -f build/build.ninja ] || meson setup build >/dev/null
meson compile -C build >/dev/null
work=$(mktemp -d /tmp/soarlist-demo.XXXXXX)
sed "s|@DIR@|$work|g" contrib/demo/soarlist.conf.in >"$work/soarlist.conf"
cp contrib/demo/api.json "$work/api.json"
# a sendmail that records what it is given instead of sending it
cat >"$work/sendmail" <<SM
#!/bin/sh
printf '%s\n' "\$*" >"$work/sendmail.argv"
cat >"$work/received.eml"
SM
chmod +x "$work/sendmail"
export SOARLIST_CONFIG="$work/soarlist.conf"

echo "== soarlist sync (sample API answer over file://)"
build/src/soarlist/soarlist sync
echo
echo "== soarlist lists"
build/src/soarlist/soarlist lists
echo
echo "== soarlist check"
build/src/soarlist/soarlist check alice@example.org members@ssc.manage2soar.com || true
build/src/soarlist/soarlist check stranger@example.com members@ssc.manage2soar.com || true
echo
echo "== soarlist-deliver -f alice@example.org -- members@ssc.manage2soar.com < contrib/demo/post.eml"
status=0
build/src/deliver/soarlist-deliver -f alice@example.org -- members@ssc.manage2soar.com \
	<contrib/demo/post.eml || status=$?
echo "exit status $status"
echo
echo "== sendmail was run as:"
echo "sendmail $(cat "$work/sendmail.argv")"
echo
echo "== the message as a member receives it:"
cat "$work/received.eml"
echo
echo "== log:"
cat "$work/soarlist.log"
echo
echo "(scratch files are in $work)"
