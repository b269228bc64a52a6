# Shared set-up steps for scripts/run and scripts/test (sourced, not run).

# setup_debian_packages BINARY:PACKAGE... installs each package whose binary is absent.
setup_debian_packages() {
    local missing=() pair
    for pair in "$@"; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "== installing Debian packages: ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        $(printf '%s\n' "${missing[@]}" | sort -u) >/dev/null
}

# setup_python_venv installs Debian's python3-venv when python3 cannot make a venv yet.
setup_python_venv() {
    python3 -c 'import venv, ensurepip' >/dev/null 2>&1 && return 0
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "== installing Debian packages: python3-venv" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        python3-venv >/dev/null
}

# setup_venv [EXTRA] creates .venv and installs the project (with extras, e.g. dev). The
# install is skipped when pyproject.toml and the extras are those of the last install (the
# project is installed editable: code changes need no reinstall).
setup_venv() {
    setup_python_venv
    [ -x .venv/bin/python ] || python3 -m venv .venv
    local spec="." stamp=".venv/.llmscope-installed" want
    [ -n "${1:-}" ] && spec=".[$1]"
    want="$spec $(sha256sum pyproject.toml | cut -d' ' -f1)"
    # An install with more extras serves a run that needs fewer.
    if [ -f "$stamp" ] && { [ "$(cat "$stamp")" = "$want" ] || \
        { [ "$spec" = "." ] && [ "$(cut -d' ' -f2 "$stamp")" = "${want#* }" ]; }; }; then
        return 0
    fi
    .venv/bin/python -m pip install -q --disable-pip-version-check -e "$spec" >&2
    echo "$want" > "$stamp"
}
