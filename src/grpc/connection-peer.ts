import { createServer } from "node:http2";
import { Socket } from "node:net";
import { Duplex } from "node:stream";

/** The address a guarded connection came from, in the form `net.Socket` reports it. */
interface PeerName {
  readonly address?: string;
  readonly port?: number;
  readonly family?: string;
}

const PEER = Symbol("pos-ingest.peer");

type Carrier = Duplex & { [PEER]?: PeerName };

/**
 * Marks `stream` (the frame guard in front of grpc-js) with the address of `socket`, so that
 * grpc-js's `call.getPeer()` reports the client's address rather than "unknown".
 *
 * Node's http2 wraps a Duplex that is not a socket in an internal `JSStreamSocket`, which has no
 * address; grpc-js reads the peer from that wrapper, and everything keyed by the client's address
 * (the failed-authentication budget) would lump every client together. Carrying the address in
 * an async context (AsyncLocalStorage) works too, but switches on async hooks for every promise in
 * the process, which measurably slowed every call; this costs nothing per call.
 */
export function carryPeer<T extends Duplex>(stream: T, socket: Socket): T {
  teachWrapperPeers();
  (stream as Carrier)[PEER] = {
    address: socket.remoteAddress,
    port: socket.remotePort,
    family: socket.remoteFamily,
  };
  return stream;
}

let taught = false;

/**
 * Once per process: the wrapper's `_getpeername` (what `remoteAddress`, `remotePort` and
 * `remoteFamily` read) answers from the stream it wraps when that stream carries a peer, and as
 * before otherwise. The wrapper's class is not exported, so one throwaway session shows it.
 */
function teachWrapperPeers(): void {
  if (taught) return;
  taught = true;
  const probe = createServer();
  let wrapper: object | undefined;
  probe.once("session", (session) => {
    wrapper = Object.getPrototypeOf(session.socket) as object;
    session.destroy();
  });
  const dummy = new Duplex({ read() {}, write: (_chunk, _encoding, callback) => callback() });
  probe.emit("connection", dummy);
  dummy.destroy();
  probe.close();
  if (!wrapper || wrapper === Socket.prototype) return;
  const own = Socket.prototype as unknown as { _getpeername(this: Socket): PeerName };
  const original = own._getpeername;
  Object.defineProperty(wrapper, "_getpeername", {
    configurable: true,
    writable: true,
    value(this: Socket & { stream?: Carrier }): PeerName {
      return this.stream?.[PEER] ?? original.call(this);
    },
  });
}
