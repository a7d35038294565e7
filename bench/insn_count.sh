#!/usr/bin/env bash
# bench/insn_count.sh [BUILD_DIR] - instructions per operation, counted by
# callgrind (valgrind): repeatable whatever else the machine is doing, so a
# regression shows without timing noise. Builds bench/insn_count.cpp
# (-O2, as the benchmarks) into BUILD_DIR (default build/insn_count), runs it
# under `valgrind --tool=callgrind` and prints a Markdown table: each row's
# instructions per operation (per PTE for the floor and 1 GiB rows), per PTE,
# and for the rows that write many PTEs per call (256x4K, 1 GiB) the ratio
# to the floor's instructions per store (floor/store/256).
# bench/README.md, "Instruction counts", holds the table this printed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

out="${1:-build/insn_count}"
mkdir -p "${out}"
for tool in valgrind g++; do
  command -v "${tool}" >/dev/null || { echo "insn_count.sh: ${tool} not found (apt-get install ${tool})" >&2; exit 1; }
done
[[ -f /usr/include/valgrind/callgrind.h ]] || { echo "insn_count.sh: valgrind/callgrind.h not found (apt-get install valgrind)" >&2; exit 1; }

g++ -std=c++20 -O2 -DNDEBUG -Wall -Wextra -Werror -Iinclude bench/insn_count.cpp -o "${out}/insn_count"
rm -f "${out}"/callgrind.out.*
# --collect-atstart=yes: everything counts, but each row zeroes the counters
# first and dumps them when it ends, so only the row's phase is in its dump.
valgrind --tool=callgrind --callgrind-out-file="${out}/callgrind.out.%p" \
  "${out}/insn_count" >/dev/null 2>"${out}/valgrind.log"

python3 - "${out}" <<'PY'
import glob, re, sys
rows = []
for f in sorted(glob.glob(sys.argv[1] + "/callgrind.out.*"), key=lambda p: [int(x) for x in re.findall(r"\d+", p)]):
    desc = total = None
    for line in open(f):
        if line.startswith("desc: Trigger: Client Request: "):
            desc = line.split(": ", 3)[3].strip()
        elif line.startswith("totals:") or line.startswith("summary:"):
            total = int(line.split()[1])
    if desc and total is not None:
        name, div = desc.rsplit(" ", 1)
        rows.append((name, total / int(div)))
floor = dict(rows).get("floor/store/256")
print("| row | instructions per operation | per PTE | per PTE / floor |")
print("|---|---|---|---|")
for name, per in rows:
    ptes = 256 if "256x" in name else 1
    per_pte = per / ptes
    bulk = "256x" in name or "1G_of_4K" in name  # many PTEs per call: compare with the store floor
    ratio = f"{per_pte / floor:.2f}" if floor and bulk else "–"
    print(f"| {name} | {per:.1f} | {per_pte:.2f} | {ratio} |")
PY
