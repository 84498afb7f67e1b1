# bench/lib.sh: shell pieces the bench scripts share (sourced, not run).

# TAGS_GO are the Makefile's build tags.
TAGS_GO="containers_image_openpgp exclude_graphdriver_btrfs exclude_graphdriver_devicemapper"

# build_binaries builds this tree's ocilayout and ocilayout-bench into
# ROOT/bin, as OCL and BENCH.
build_binaries() {
  OCL=$ROOT/bin/ocilayout BENCH=$ROOT/bin/ocilayout-bench
  (cd "$ROOT" && go build -tags "$TAGS_GO" -o "$OCL" ./cmd/ocilayout && go build -tags "$TAGS_GO" -o "$BENCH" ./bench/cmd/ocilayout-bench)
}

# free_port prints a loopback TCP port free at the moment.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# registry_script W REG REG_CMD writes W/registry.sh, which (re)starts an
# empty registry on REG with REG_CMD (its data under W/regdata), and waits
# until it answers: a push row runs it before each push, so every push
# starts from an empty registry.
registry_script() {
  local w=$1 reg=$2 cmd=$3
  cat > "$w/registry.sh" <<EOS
#!/bin/sh
# (re)start an empty registry on $reg
if [ -f "$w/reg.pid" ]; then
  pid=\$(cat "$w/reg.pid"); kill "\$pid" 2>/dev/null
  while kill -0 "\$pid" 2>/dev/null; do sleep 0.01; done
fi
rm -rf "$w/regdata"
$cmd > "$w/reg.out" 2>&1 < /dev/null &
echo \$! > "$w/reg.pid"
until curl -sf -o /dev/null "http://$reg/v2/"; do sleep 0.02; done
EOS
  chmod +x "$w/registry.sh"
}
