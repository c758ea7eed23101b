import { PassThrough } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { guardConnection } from "../../src/grpc/connection-guard.js";
import { frame, rstStream } from "../support/h2-raw.js";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const headers = (id: number) => frame(1, 0x4, id, Buffer.from([0x83, 0x86, 0x84]));
const data = (id: number, bytes: number) => frame(0, 0, id, Buffer.alloc(bytes, 0x61));
const goaway = (last: number, code: number) => {
  const payload = Buffer.alloc(8);
  payload.writeUInt32BE(last, 0);
  payload.writeUInt32BE(code, 4);
  return frame(7, 0, 0, payload);
};

/** Sends `input` through a guard in the given chunk sizes; resolves with what came out. */
async function through(input: Buffer, cuts: number[]) {
  const socket = new PassThrough();
  const dropped: number[] = [];
  const guarded = guardConnection(socket, { onIdleStreamReset: (id) => dropped.push(id) });
  const out: Buffer[] = [];
  guarded.on("data", (chunk: Buffer) => out.push(chunk));
  let at = 0;
  for (const cut of [...cuts, input.length]) {
    const end = Math.min(input.length, Math.max(at, cut));
    if (end > at) socket.write(input.subarray(at, end));
    at = end;
  }
  await new Promise((r) => setImmediate(r));
  return { out: Buffer.concat(out), dropped };
}

describe("HTTP/2 frame guard", () => {
  const opened = [PREFACE, frame(4, 0, 0), headers(1), data(1, 40), rstStream(1)];
  const idle = [rstStream(5), rstStream(3)];
  const after = [headers(7), data(7, 300), rstStream(9), frame(6, 0, 0, Buffer.alloc(8))];
  const input = Buffer.concat([...opened, ...idle, ...after]);
  const expected = Buffer.concat([...opened, ...after.filter((_, i) => i !== 2)]);

  it("drops RST_STREAM only for streams above the highest opened, however the bytes are cut", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: input.length }), { maxLength: 12 }),
        async (cuts) => {
          const { out, dropped } = await through(
            input,
            cuts.sort((a, b) => a - b),
          );
          expect(out.equals(expected)).toBe(true);
          expect(dropped).toEqual([5, 3, 9]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("passes byte by byte as well", async () => {
    const { out } = await through(
      input,
      Array.from({ length: input.length }, (_, i) => i),
    );
    expect(out.equals(expected)).toBe(true);
  });

  it("reports the server's GOAWAY, split across writes", async () => {
    const socket = new PassThrough();
    const seen: [number, number, string][] = [];
    const guarded = guardConnection(socket, {
      onGoaway: (code, last, debug) => seen.push([code, last, debug]),
    });
    socket.resume();
    const bytes = Buffer.concat([frame(4, 0, 0), goaway(41, 2)]);
    for (const part of [bytes.subarray(0, 5), bytes.subarray(5, 14), bytes.subarray(14)]) {
      await new Promise((r) => guarded.write(part, r));
    }
    expect(seen).toEqual([[2, 41, ""]]);
  });
});
