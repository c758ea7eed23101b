import { configureTextEncoding, getTextEncoding } from "@bufbuild/protobuf/wire";

/**
 * Imported for its effect, before any message is decoded (the gRPC adapter and the canonical
 * form import it). protobuf-es decodes strings with a default TextDecoder, which silently drops a
 * leading U+FEFF (byte-order mark): a sale id "\uFEFFS-1" would be stored as "S-1", and a
 * different sale reusing the key could be taken for a retry. Decoding must keep every character
 * the client sent.
 */
const lenient = new TextDecoder("utf-8", { ignoreBOM: true });
const strict = new TextDecoder("utf-8", { ignoreBOM: true, fatal: true });
const base = getTextEncoding();
configureTextEncoding({
  checkUtf8: base.checkUtf8,
  encodeUtf8: base.encodeUtf8,
  decodeUtf8: (bytes, strictMode) => (strictMode ? strict : lenient).decode(bytes),
});
