# workerd configuration of the example edge worker. Run after scripts/build-wasm (which
# puts pkg/ and aws.ipfence beside this file):
#   npx workerd serve config.capnp --socket-addr http=127.0.0.1:8787
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker) ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "main") ],
);

const worker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "pkg/ipfence_wasm.js", esModule = embed "pkg/ipfence_wasm.js"),
    (name = "pkg/ipfence_wasm_bg.wasm", wasm = embed "pkg/ipfence_wasm_bg.wasm"),
    (name = "aws.ipfence", data = embed "aws.ipfence"),
  ],
  bindings = [
    (name = "GATE", text = "on"),
    (name = "BOT_GATE", text = "block"),
    (name = "CLIENT_IP_HEADER", text = "cf-connecting-ip"),
  ],
  compatibilityDate = "2025-01-01",
);
