# Helpers the bench scripts share; sourced, never run.

# A TCP port nobody listens on, on the given address (127.0.0.1 by default).
free_port() {
  local host=${1:-127.0.0.1} p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/$host/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  echo "no free port found" >&2
  return 1
}

# Lineup's native API: api_at BASE_URL TOKEN METHOD PATH [JSON]; prints the body, fails on an HTTP error.
api_at() {
  local args=(-sS -f -X "$3" "$1/api/v1$4" -H "Authorization: Bearer $2")
  [ $# -ge 5 ] && args+=(-H 'Content-Type: application/json' -d "$5")
  curl "${args[@]}"
}
