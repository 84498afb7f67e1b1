# bench/lib.sh: shell pieces the bench scripts share (sourced, not run).

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
