# Shared by the bench scripts (sourced): what a server costs in CPU, measured from /proc, and medians.
# A server's cost is the utime+stime of its whole process tree (every thread of a JVM; nginx's master and workers)
# over the measured run, divided by the requests wrk completed in that run.

CLK_TCK=$(getconf CLK_TCK)

tree_pids() { # pid -> the pid and all its descendants
  local p; echo "$1"; for p in $(ps -o pid= --ppid "$1" 2>/dev/null); do tree_pids "$p"; done
}

tree_times() { # pid -> "utime stime" (clock ticks) summed over the process tree; fields 14 and 15 of /proc/PID/stat
  local u=0 s=0 p v; for p in $(tree_pids "$1"); do
    v=$(sed 's/^.*) //' /proc/$p/stat 2>/dev/null | awk '{print $12, $13}') || v=
    set -- ${v:-0 0}; u=$((u + $1)); s=$((s + $2))
  done; echo $u $s
}

cpu_jiffies() { # CPU list like 0 or 1-3 -> "busy total" jiffies from /proc/stat
  local lo=${1%-*} hi=${1#*-}
  awk -v lo="$lo" -v hi="$hi" '$1 ~ /^cpu[0-9]+$/ { n=substr($1,4)+0;
    if (n>=lo && n<=hi) { t=0; for (i=2;i<=NF;i++) t+=$i; b+=t-$5-$6; a+=t } } END { print b, a }' /proc/stat
}

busy_pct() { # "busy total" before, after -> percent busy in between
  awk -v a="$1" -v b="$2" 'BEGIN { split(a,x," "); split(b,y," "); d=y[2]-x[2]; printf "%.0f", (d>0 ? 100*(y[1]-x[1])/d : 0) }'
}

median() { # numbers (one per line or space separated) -> the median (the middle one; the lower middle of an even count)
  tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
}

to_ms() { # wrk latency like 812.00us, 3.51ms, 1.20s -> milliseconds
  awk -v v="$1" 'BEGIN { n=v+0; if (v ~ /us$/) n/=1000; else if (v ~ /ms$/) n=n; else if (v ~ /s$/) n*=1000; printf "%.2f", n }'
}

# measure NAME URL SERVER_PID LOAD_CPUS SERVER_CPUS WRK_ARGS...: one wrk run; prints a line for people on stderr and
# "rps p99_ms us_per_req server_busy% load_busy% requests user_us sys_us" on stdout (user_us + sys_us = us_per_req). The load side is "saturated" at >= 95% busy.
measure() {
  local name=$1 url=$2 pid=$3 lcpu=$4 scpu=$5; shift 5
  local t0 l0 s0 t1 l1 s1 out
  t0=$(tree_times "$pid"); l0=$(cpu_jiffies "$lcpu"); s0=$(cpu_jiffies "$scpu")
  out=$(taskset -c "$lcpu" wrk "$@" --latency "$url")
  t1=$(tree_times "$pid"); l1=$(cpu_jiffies "$lcpu"); s1=$(cpu_jiffies "$scpu")
  local rps p99 n us uu su lb sb errs
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out"); p99=$(to_ms "$(awk '$1=="99%" {print $2}' <<<"$out")")
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  per() { awk -v d="$1" -v n="$n" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", (n>0 ? d*1e6/hz/n : 0) }'; }
  local a b; read -r a b <<<"$t0"; local c d; read -r c d <<<"$t1"
  us=$(per $((c + d - a - b))); uu=$(per $((c - a))); su=$(per $((d - b)))
  lb=$(busy_pct "$l0" "$l1"); sb=$(busy_pct "$s0" "$s1")
  errs=$(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr -s ' ' | tr '\n' ' ' || true)
  printf '  %-16s %9.0f req/s  p99 %7s ms  %6s us/req (user %5s sys %5s)  cpu busy: server %3s%% load %3s%%%s %s\n' \
    "$name" "$rps" "$p99" "$us" "$uu" "$su" "$sb" "$lb" "$([ "$lb" -ge 95 ] && echo ' (load side saturated)')" "$errs" >&2
  echo "$rps $p99 $us $sb $lb $n $uu $su"
}
