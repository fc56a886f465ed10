#!/usr/bin/env bash
# IPVS programming speed in the VM (Debian kernel under qemu TCG, 1 vCPU): IpvsClient vs ipvsadm,
# N services x M destinations from an empty table, then one weight change.
#   bench/director-ipvs.sh [SERVICES] [DESTS]      (default 1000 10; needs root + qemu, like the VM tests)
# TCG emulation makes absolute numbers several times slower than bare metal; compare the rows.
set -euo pipefail
cd "$(dirname "$0")/../l4-director"
mvn -q -B -o -pl . test-compile
cp=target/test-classes:target/classes:$(mvn -q -B -o dependency:build-classpath -Dmdep.outputFile=/dev/stdout | sed "s/\x1b\[[0-9;]*m//g")
exec src/test/vm/run-in-vm.sh --timeout 600 -- java -cp "$cp" io.tiergate.director.dataplane.ipvs.IpvsBench "${1:-1000}" "${2:-10}"
