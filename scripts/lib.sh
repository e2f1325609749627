# Shared helpers for the scripts in this folder. Source it: `. "$(dirname "$0")/lib.sh"`.

# Runs apt-get update once per script run, then installs the named Debian packages that
# are missing. Uses sudo when not root.
apt_install() {
    local missing=()
    for p in "$@"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    if [ -z "${IPFENCE_APT_UPDATED:-}" ]; then
        $sudo apt-get update -qq
        export IPFENCE_APT_UPDATED=1
    fi
    echo "installing: ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The environment for building with Debian's rustc for wasm targets with -Zbuild-std
# (rustup cannot download targets here; see CONTRIBUTING.md, "Toolchain").
wasm_env() {
    export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
    export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld
    export CARGO_TARGET_WASM32V1_NONE_LINKER=wasm-ld
}

step() {
    printf '\n== %s\n' "$*" >&2
}
