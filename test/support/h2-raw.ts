import { connect, type Socket } from "node:net";
import { connect as connectTls } from "node:tls";
import { trackConnection } from "./leaks.js";

/** One HTTP/2 frame as bytes: 9-byte header (RFC 9113 §4.1), then the payload. */
export function frame(type: number, flags: number, streamId: number, payload = Buffer.alloc(0)) {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

/** RST_STREAM (type 3) for `streamId` with error code CANCEL. */
export const rstStream = (streamId: number) => frame(3, 0, streamId, Buffer.from([0, 0, 0, 8]));

/**
 * Opens a plaintext HTTP/2 connection by hand (preface and empty SETTINGS), sends `frames`, then
 * a PING, and resolves with how the server answered: "alive" when the PING is acknowledged, or
 * the error code of a GOAWAY that came first. With `tls`, over TLS (ALPN h2) trusting only `ca`.
 * The socket is tracked (leaks.ts) until it is closed, which it is however the probe ends.
 */
export function probe(
  port: number,
  frames: Buffer[],
  tls?: { ca: Buffer },
): Promise<"alive" | { goaway: number }> {
  const forget = trackConnection(`probe(${port})`);
  return new Promise((resolve, reject) => {
    const onConnect = () => {
      socket.write(
        Buffer.concat([
          Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1"),
          frame(4, 0, 0),
          ...frames,
          frame(6, 0, 0, Buffer.from("probe!!!", "latin1")),
        ]),
      );
    };
    const socket: Socket = tls
      ? connectTls(
          { port, host: "127.0.0.1", servername: "localhost", ca: tls.ca, ALPNProtocols: ["h2"] },
          onConnect,
        )
      : connect(port, "127.0.0.1", onConnect);
    // Forgotten as soon as it is destroyed (by finish, or by an error), not a tick later at
    // "close", so a caller that awaited the probe sees it gone.
    socket.once("error", forget).once("close", forget);
    let received = Buffer.alloc(0);
    const finish = (result: "alive" | { goaway: number }) => {
      socket.destroy();
      forget();
      resolve(result);
    };
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      while (received.length >= 9) {
        const length = received.readUIntBE(0, 3);
        if (received.length < 9 + length) break;
        const type = received[3];
        const flags = received[4] as number;
        if (type === 7) return finish({ goaway: received.readUInt32BE(13) });
        if (type === 6 && (flags & 1) === 1) return finish("alive");
        received = received.subarray(9 + length);
      }
    });
    socket.on("error", reject);
    socket.on("close", () => reject(new Error("connection closed without GOAWAY or PING ACK")));
  });
}
