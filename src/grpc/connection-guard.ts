import { Duplex } from "node:stream";

/** HTTP/2 frame types this guard looks at (RFC 9113 §6). */
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const GOAWAY = 0x7;
const FRAME_HEADER_BYTES = 9;
/** "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n": the client's connection preface, before any frame. */
const CLIENT_PREFACE_BYTES = 24;

/** HTTP/2 error codes (RFC 9113 §7) by number, for logs. */
export const HTTP2_ERROR_NAMES: readonly string[] = [
  "NO_ERROR",
  "PROTOCOL_ERROR",
  "INTERNAL_ERROR",
  "FLOW_CONTROL_ERROR",
  "SETTINGS_TIMEOUT",
  "STREAM_CLOSED",
  "FRAME_SIZE_ERROR",
  "REFUSED_STREAM",
  "CANCEL",
  "COMPRESSION_ERROR",
  "CONNECT_ERROR",
  "ENHANCE_YOUR_CALM",
  "INADEQUATE_SECURITY",
  "HTTP_1_1_REQUIRED",
];

/** What the guard saw on one connection. */
export interface ConnectionGuardEvents {
  /** A client RST_STREAM for a stream it never opened was dropped before the server saw it. */
  onIdleStreamReset?(streamId: number, errorCode: number): void;
  /**
   * The server sent GOAWAY: the connection takes no new calls and ends. `debug` is the frame's
   * debug data (nghttp2 puts its reason there when it ends a connection itself).
   */
  onGoaway?(errorCode: number, lastStreamId: number, debug: string): void;
}

/**
 * Puts an HTTP/2 frame guard between a client connection and the server's HTTP/2 session.
 *
 * gRPC's C-core client (grpcio, grpc++, Ruby, PHP, C# Grpc.Core) can send RST_STREAM for a stream
 * whose HEADERS it never sent, when a call is cancelled (or its deadline passes) in the instant
 * between taking a stream id and writing the headers (grpc/grpc#19655, #38758). RFC 9113 §6.4
 * makes that a connection error, so nghttp2 ends the whole connection — Node since 20.18.2
 * destroys the session with GOAWAY INTERNAL_ERROR — and every other call multiplexed on it fails
 * UNAVAILABLE. A stream that was never opened has nothing to reset, so dropping that frame loses
 * nothing: the server never knew the call. Every other byte passes through unchanged, in order.
 *
 * The server's own frames are only read, to report a GOAWAY.
 */
export function guardConnection(socket: Duplex, events: ConnectionGuardEvents = {}): Duplex {
  const fromClient = new ClientFrameFilter(events);
  const fromServer = new ServerFrameReader(events);
  const guarded = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      fromServer.read(chunk);
      socket.write(chunk, callback);
    },
    // The session corks and writes a burst of frames at once; handing them to the socket as one
    // corked batch makes them one writev system call instead of one write each.
    writev(chunks: { chunk: Buffer }[], callback) {
      socket.cork();
      chunks.forEach(({ chunk }, i) => {
        fromServer.read(chunk);
        if (i === chunks.length - 1) socket.write(chunk, callback);
        else socket.write(chunk);
      });
      socket.uncork();
    },
    final(callback) {
      socket.end();
      // The session has stopped reading, which may have left the socket paused: read on, so the
      // client's FIN (or reset) is seen and the socket closes instead of idling until shutdown.
      socket.resume();
      callback();
    },
    destroy(err, callback) {
      socket.destroy(err ?? undefined);
      callback(err);
    },
  });
  socket.on("data", (chunk: Buffer) => {
    // After the session ended its side nobody reads what arrives; it is not worth buffering.
    if (guarded.writableEnded || guarded.destroyed) return;
    let full = false;
    for (const part of fromClient.filter(chunk)) full = !guarded.push(part) || full;
    if (full) socket.pause();
  });
  socket.on("end", () => guarded.push(null));
  socket.on("error", (err) => guarded.destroy(err));
  socket.on("close", () => guarded.destroy());
  return guarded;
}

/**
 * Splits the client's bytes into frames as they arrive (frames span chunks), passing everything
 * on except RST_STREAM frames for streams above the highest the client has opened with HEADERS:
 * exactly the streams nghttp2 counts as idle on a server.
 */
class ClientFrameFilter {
  private prefaceLeft = CLIENT_PREFACE_BYTES;
  private readonly header = Buffer.alloc(FRAME_HEADER_BYTES);
  private headerHave = 0;
  /** Payload bytes of the current frame still to come, and whether they are passed or dropped. */
  private payloadLeft = 0;
  private dropping = false;
  /** The dropped frame's payload, for its error code. */
  private dropped: Buffer[] = [];
  private droppedStream = 0;
  private highestOpened = 0;

  constructor(private readonly events: ConnectionGuardEvents) {}

  filter(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let i = 0;
    if (this.prefaceLeft > 0) {
      const n = Math.min(this.prefaceLeft, chunk.length);
      this.prefaceLeft -= n;
      i = n;
      out.push(chunk.subarray(0, n));
    }
    // Bytes from passFrom to i go on as one slice of the chunk. Only a dropped frame, or a frame
    // header split across chunks (held back until whole), cuts the slice.
    let passFrom = i;
    while (i < chunk.length) {
      if (this.payloadLeft > 0) {
        const n = Math.min(this.payloadLeft, chunk.length - i);
        this.payloadLeft -= n;
        if (this.dropping) {
          this.dropped.push(chunk.subarray(i, i + n));
          passFrom = i + n;
          if (this.payloadLeft === 0) this.endDrop();
        }
        i += n;
        continue;
      }
      const start = i;
      const continued = this.headerHave > 0;
      const n = Math.min(FRAME_HEADER_BYTES - this.headerHave, chunk.length - i);
      chunk.copy(this.header, this.headerHave, i, i + n);
      this.headerHave += n;
      i += n;
      if (this.headerHave < FRAME_HEADER_BYTES) {
        if (start > passFrom) out.push(chunk.subarray(passFrom, start));
        passFrom = i;
        break;
      }
      this.headerHave = 0;
      const length = this.header.readUIntBE(0, 3);
      const type = this.header[3] as number;
      const streamId = this.header.readUInt32BE(5) & 0x7fffffff;
      if (type === HEADERS && streamId > this.highestOpened) this.highestOpened = streamId;
      this.payloadLeft = length;
      // A malformed RST_STREAM (length other than 4) is left for nghttp2 to refuse.
      if (type === RST_STREAM && length === 4 && streamId > this.highestOpened) {
        if (start > passFrom) out.push(chunk.subarray(passFrom, start));
        passFrom = i;
        this.dropping = true;
        this.droppedStream = streamId;
        this.dropped = [];
      } else if (continued) {
        // Its first bytes came in an earlier chunk and were held back: pass the whole header.
        out.push(Buffer.from(this.header));
        passFrom = i;
      }
    }
    if (i > passFrom) out.push(chunk.subarray(passFrom, i));
    return out;
  }

  private endDrop(): void {
    const payload = Buffer.concat(this.dropped);
    this.dropping = false;
    this.dropped = [];
    this.events.onIdleStreamReset?.(this.droppedStream, payload.readUInt32BE(0));
  }
}

/** Debug data kept from a GOAWAY: enough for a reason, not a buffer a peer could grow. */
const MAX_GOAWAY_DEBUG_BYTES = 256;

/** Reads the server's frames, only to report a GOAWAY (last stream id, error code, debug data). */
class ServerFrameReader {
  private readonly header = Buffer.alloc(FRAME_HEADER_BYTES);
  private headerHave = 0;
  private payloadLeft = 0;
  private goaway: Buffer[] | undefined;
  private goawayHave = 0;

  constructor(private readonly events: ConnectionGuardEvents) {}

  read(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.payloadLeft > 0) {
        const n = Math.min(this.payloadLeft, chunk.length - i);
        if (this.goaway && this.goawayHave < 8 + MAX_GOAWAY_DEBUG_BYTES) {
          const take = Math.min(n, 8 + MAX_GOAWAY_DEBUG_BYTES - this.goawayHave);
          this.goaway.push(Buffer.from(chunk.subarray(i, i + take)));
          this.goawayHave += take;
        }
        this.payloadLeft -= n;
        i += n;
        if (this.payloadLeft === 0) this.endFrame();
        continue;
      }
      const n = Math.min(FRAME_HEADER_BYTES - this.headerHave, chunk.length - i);
      chunk.copy(this.header, this.headerHave, i, i + n);
      this.headerHave += n;
      i += n;
      if (this.headerHave < FRAME_HEADER_BYTES) break;
      this.headerHave = 0;
      this.payloadLeft = this.header.readUIntBE(0, 3);
      if (this.header[3] === GOAWAY) {
        this.goaway = [];
        this.goawayHave = 0;
      }
      if (this.payloadLeft === 0) this.endFrame();
    }
  }

  private endFrame(): void {
    if (!this.goaway) return;
    const payload = Buffer.concat(this.goaway);
    this.goaway = undefined;
    if (payload.length < 8) return;
    this.events.onGoaway?.(
      payload.readUInt32BE(4),
      payload.readUInt32BE(0) & 0x7fffffff,
      payload.subarray(8).toString("latin1"),
    );
  }
}
