"""Reads herald-bench outputs (NAME.ROUND.txt) and prints the median of each
figure per target, with each Herald backend's ratio to nchan. Used by compare.sh."""
import re, statistics, sys
from pathlib import Path

FIGURES = [
    ("delivery p50 (ms)", r"delivery latency: p50 ([\d.]+) ms"),
    ("delivery p99 (ms)", r"p99 ([\d.]+) ms, p99\.9"),
    ("server CPU per notification (µs)", r"([\d.]+) us per notification"),
    ("memory per idle connection (KB)", r"([\d.]+) KB per idle connection"),
    ("idle CPU, heartbeats (% of a core)", r"idle server CPU over \d+s: ([\d.]+)%"),
    ("frames missing", r"\((\d+) missing\)"),
]

def median(out, name, pattern):
    vals = []
    for f in sorted(out.glob(f"{name}.*.txt")):
        m = re.search(pattern, f.read_text())
        if m:
            vals.append(float(m.group(1)))
    return (statistics.median(vals), len(vals)) if vals else (None, 0)

def main():
    out, targets = Path(sys.argv[1]), sys.argv[2:]
    base, others = targets[0], targets[1:]
    head = [base] + [f"Herald {t}" for t in others] + [f"{t} ÷ {base}" for t in others]
    print("| figure | " + " | ".join(head) + " |")
    print("|---" * (len(head) + 1) + "|")
    for label, pattern in FIGURES:
        cells, values = [], {}
        for t in targets:
            v, n = median(out, t, pattern)
            values[t] = v
            cells.append("—" if v is None else f"{v:g} (n={n})")
        for t in others:
            a, b = values[t], values[base]
            cells.append("—" if a is None or not b else f"{a / b:.1f}×")
        print(f"| {label} | " + " | ".join(cells) + " |")

if __name__ == "__main__":
    main()
