# What the benchmark scripts share; each sources it from the project root.

# The Python the references run in: bench/.venv (gitignored) with every package any benchmark
# imports, created or completed on first use. Sets `venv` and `py`.
python_env() {
  venv=bench/.venv
  py="$venv/bin/python"
  if ! "$py" -c "import numpy, scipy, sklearn, fastcluster, pandas" 2>/dev/null; then
    [ -x "$py" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet numpy scipy scikit-learn fastcluster pandas
  fi
}

# Readers of a `/usr/bin/time -v` report.

# Wall seconds.
wall() { awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0;
  for (i = 1; i <= n; i++) s = s * 60 + t[i]; printf "%.2f", s }' "$1"; }
# User plus system CPU seconds.
cpu() { awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.1f", s }' "$1"; }
# Peak resident MiB.
peak() { awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$1"; }
# $1 / $2 with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
