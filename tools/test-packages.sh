#!/usr/bin/env bash
# Builds every crate's package (`cargo package --workspace`, in dependency order, each
# verified by building it from its .crate alone), then unpacks all packages into a scratch
# workspace whose crates depend on each other only through their packaged forms and runs
# their tests there: what crates.io users would get, with nothing reaching outside a package.
#
#   tools/test-packages.sh            # package, unpack, test (release-optimised test profile)
#   tools/test-packages.sh --no-run   # package, unpack, build the tests only
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
cargo package --workspace --allow-dirty --quiet
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
members=()
patches=()
for crate in target/package/*.crate; do
    tar -xzf "$crate" -C "$scratch"
done
for dir in "$scratch"/*/; do
    name=$(basename "$dir" | sed -E 's/-[0-9]+\.[0-9]+\.[0-9]+$//')
    members+=("\"$(basename "$dir")\"")
    patches+=("$name = { path = \"$(basename "$dir")\" }")
done
{
    echo "[workspace]"
    echo "resolver = \"3\""
    echo "members = [$(IFS=,; echo "${members[*]}")]"
    echo "[profile.test]"
    echo "opt-level = 2"
    echo "[profile.dev.package.\"*\"]"
    echo "opt-level = 2"
    echo "[patch.crates-io]"
    printf '%s\n' "${patches[@]}"
} > "$scratch/Cargo.toml"
# Unpacked crates carry a workspace-less Cargo.toml; a fresh target keeps the check honest.
export CARGO_TARGET_DIR="$scratch/target"
cd "$scratch"
if [ "$mode" = "--no-run" ]; then
    cargo test --workspace --no-run --quiet
else
    cargo test --workspace --quiet
fi
echo "packaged crates: OK ($(ls -d */ | grep -v target | tr -d / | tr '\n' ' '))"
