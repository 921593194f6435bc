# Sourced by `make test` and `make bench`: point the suite at PostgreSQL and Redis when they are reachable.
_reachable() { "${VENV:-.venv}/bin/python" -c "import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 1)" "$1" "$2" 2>/dev/null; }
if [ -z "${DATABASE_URL:-}" ] && _reachable 127.0.0.1 5432; then
  export DATABASE_URL=postgres://postgres@127.0.0.1:5432/agora
fi
if [ -z "${REDIS_URL:-}" ] && _reachable 127.0.0.1 6379; then
  export REDIS_URL=redis://127.0.0.1:6379/0
fi
echo "make test: DATABASE_URL=${DATABASE_URL:-<embedded SQLite>} REDIS_URL=${REDIS_URL:-<in-memory layer>}"
