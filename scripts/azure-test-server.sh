#!/usr/bin/env bash
# A throwaway Azure Blob Storage emulator on 127.0.0.1 for tests and by hand: Azurite's blob service (npm package
# azurite), its data kept in DIR. The well-known development account devstoreaccount1 and its published key.
#   scripts/azure-test-server.sh install          install Azurite 3.37.0 if missing (npm, into ECAP_TOOLS_DIR/azurite,
#                                                 default ~/.cache/ecap-tools: kept across clean checkouts)
#   scripts/azure-test-server.sh start DIR [PORT] start it (blob service on PORT, default 10000); prints the
#                                                 connection string (AZURE_STORAGE_CONNECTION_STRING) on stdout
#   scripts/azure-test-server.sh stop DIR         stop it and delete DIR
# The emulator runs with --skipApiVersionCheck (the SDK may speak a newer API version than it knows) and --loose.
set -euo pipefail

prefix=${ECAP_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ecap-tools}/azurite
version=3.37.0
bin=$prefix/node_modules/.bin/azurite-blob
account=devstoreaccount1
key='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

case "${1:-}" in
  install)
    if [ ! -x "$bin" ]; then
      command -v npm >/dev/null || { echo "npm is not installed: Azurite needs Node.js and npm" >&2; exit 1; }
      mkdir -p "$prefix"
      npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "azurite@$version" >/dev/null
    fi
    ;;
  start)
    dir=${2:?usage: start DIR [PORT]}; port=${3:-10000}
    [ -x "$bin" ] || { echo "Azurite is not installed: run '$0 install'" >&2; exit 1; }
    mkdir -p "$dir/data"
    dir=$(cd "$dir" && pwd)
    nohup "$bin" --blobHost 127.0.0.1 --blobPort "$port" --location "$dir/data" --skipApiVersionCheck --loose \
      --disableProductStyleUrl --silent >"$dir/azurite.log" 2>&1 &
    echo $! > "$dir/azurite.pid"
    # Up to 60 s: Node starts in well under a second, but on a loaded machine with a cold page cache it has taken longer.
    for _ in $(seq 1 600); do
      kill -0 "$(cat "$dir/azurite.pid")" 2>/dev/null || break # it exited: say so now, with its log
      # A TCP connection accepted means the service listens.
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "DefaultEndpointsProtocol=http;AccountName=$account;AccountKey=$key;BlobEndpoint=http://127.0.0.1:$port/$account;"
        exit 0
      fi
      sleep 0.1
    done
    echo "Azurite did not answer on port $port; log in $dir/azurite.log" >&2
    tail -n 5 "$dir/azurite.log" >&2 || true
    kill "$(cat "$dir/azurite.pid")" 2>/dev/null || true
    exit 1
    ;;
  stop)
    dir=${2:?usage: stop DIR}
    if [ -f "$dir/azurite.pid" ]; then
      pid=$(cat "$dir/azurite.pid")
      kill "$pid" 2>/dev/null || true
      # Azurite shuts down gracefully on TERM; wait for it (briefly) so DIR is not in use when it goes.
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
    ;;
  *)
    sed -n 2,9p "$0"; exit 2;;
esac
