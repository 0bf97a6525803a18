#!/usr/bin/env bash
# The long pass of the OpenAPI fuzzing test (tests/api/fuzz.rs): schemathesis against every operation
# with a larger budget of generated requests per operation and phase than the suite's short pass (8).
# Usage: bench/fuzz.sh [examples per operation, default 200]   (needs: pip install schemathesis)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/trellis/target}"
command -v schemathesis >/dev/null || { echo "install schemathesis: pip install schemathesis" >&2; exit 1; }
TRELLIS_FUZZ_EXAMPLES="${1:-200}" cargo nextest run --test api --no-capture \
  -E 'test(every_operation_answers_as_documented_under_fuzzing)'
